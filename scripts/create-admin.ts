/**
 * `npm run create-admin -- --username NAME [--display-name 名字]`: the first office admin of a
 * fresh deployment. The password comes from RECTIFLOW_ADMIN_PASSWORD or standard input (one line);
 * there is no default password.
 */
import { createInterface } from "node:readline/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { connectDb, disconnectDb, ensureIndexes } from "../src/db/connection.ts";
import { createUser } from "../src/directory.ts";
import { AppError } from "../src/errors.ts";

const { values } = parseArgs({ options: { username: { type: "string" }, "display-name": { type: "string" } } });
if (!values.username) {
  console.error("usage: npm run create-admin -- --username NAME [--display-name 名字]   (password: RECTIFLOW_ADMIN_PASSWORD or stdin)");
  process.exit(2);
}
let password = process.env.RECTIFLOW_ADMIN_PASSWORD;
if (!password) {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write("新管理员密码（至少 8 位）：");
  password = (await rl[Symbol.asyncIterator]().next()).value ?? "";
  rl.close();
}
const config = loadConfig();
await connectDb(config.MONGODB_URI);
await ensureIndexes();
try {
  const user = await createUser({ username: values.username, displayName: values["display-name"] ?? "整改办管理员", password: password ?? "", role: "office_admin", unitId: null });
  console.log(`已创建管理员 ${user.username}（${user.displayName}）`);
} catch (e) {
  if (!(e instanceof AppError)) throw e;
  console.error(`未创建：${e.message}`);
  process.exitCode = 1;
} finally {
  await disconnectDb();
}
