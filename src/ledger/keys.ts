/** The checkpoint keys from configuration: the signer (LEDGER_KEY or LEDGER_KEY_FILE) and the verifier keys. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Config } from "../config.ts";
import { generateSignerKey, parseSignerKey, parseVerifierKey, type Signer, type Verifier } from "./note.ts";

export interface LedgerKeys {
  /** Null in a process that only verifies (it has the verifier keys alone). */
  signer: Signer | null;
  /** Every key a checkpoint may carry: the signer's own first, then the earlier ones (rotation). */
  verifiers: Verifier[];
}

/** The configured keys, or null when checkpoints are off. Throws, naming the setting, on a key that cannot be read. */
export function ledgerKeys(config: Pick<Config, "LEDGER_KEY" | "LEDGER_KEY_FILE" | "LEDGER_VERIFY_KEYS">): LedgerKeys | null {
  let text = config.LEDGER_KEY;
  if (!text && config.LEDGER_KEY_FILE) {
    try {
      text = readFileSync(config.LEDGER_KEY_FILE, "utf8");
    } catch (e) {
      throw new Error(`LEDGER_KEY_FILE ${config.LEDGER_KEY_FILE} cannot be read: ${(e as Error).message}`);
    }
  }
  const signer = text ? parseSignerKey(text) : null;
  const earlier = (config.LEDGER_VERIFY_KEYS ?? "")
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseVerifierKey);
  const verifiers = [...(signer ? [signer.verifier] : []), ...earlier.filter((v) => !signer || v.vkey !== signer.verifier.vkey)];
  return verifiers.length ? { signer, verifiers } : null;
}

/** For the demo: a throw-away signer key in this file, made if it is not there yet. */
export function ensureDemoKey(file: string, name = "rectiflow.demo/ledger"): void {
  if (existsSync(file)) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${generateSignerKey(name)}\n`, { mode: 0o600, flag: "wx" });
}
