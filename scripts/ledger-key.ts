/**
 * `npm run ledger-key -- --name NAME [--out FILE]`: makes a new checkpoint signer key (Ed25519) for the
 * log called NAME (e.g. zgb.example.gov.cn/rectiflow) and prints its verifier key, to publish. With
 * --out the signer key goes to FILE (created, never overwritten, readable by its owner only); without,
 * it is printed. Exit code: 0 done, 2 usage.
 */
import { writeFileSync } from "node:fs";
import { generateSignerKey, parseSignerKey } from "../src/ledger/note.ts";
import { cliArgs } from "./cli.ts";

const { values: args } = cliArgs("usage: npm run ledger-key -- --name NAME [--out FILE]", { name: { type: "string" }, out: { type: "string" } });
const name = args.name as string | undefined;
if (!name) {
  console.error("usage: npm run ledger-key -- --name NAME [--out FILE]（NAME 为日志名称，如 zgb.example.gov.cn/rectiflow）");
  process.exit(2);
}
let key: string;
try {
  key = generateSignerKey(name);
} catch (e) {
  console.error((e as Error).message);
  process.exit(2);
}
const out = args.out as string | undefined;
if (out) {
  try {
    writeFileSync(out, `${key}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    console.error((e as NodeJS.ErrnoException).code === "EEXIST" ? `${out} 已存在，不覆盖（轮换密钥见 docs/ledger.md）` : (e as Error).message);
    process.exit(2);
  }
}
else console.log(`签名密钥（保密，放在数据库以外；LEDGER_KEY 或 LEDGER_KEY_FILE）：\n${key}`);
if (out) console.log(`签名密钥已写入 ${out}（仅所有者可读）；设 LEDGER_KEY_FILE=${out}`);
console.log(`验证公钥（公开给保存检查点副本的各方；轮换后放进 LEDGER_VERIFY_KEYS）：\n${parseSignerKey(key).verifier.vkey}`);
