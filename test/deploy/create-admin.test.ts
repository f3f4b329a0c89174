import { expect } from "chai";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { User } from "../../src/db/models.ts";
import { verifyPassword } from "../../src/directory.ts";
import { testDbUri } from "../support/hooks.ts";

const run = promisify(execFile);
const cli = (args: string[], env: Record<string, string>) =>
  run("node", ["--import", "tsx", "scripts/create-admin.ts", ...args], { env: { ...process.env, MONGODB_URI: testDbUri(), LOG_LEVEL: "silent", ...env } });

describe("create-admin CLI", () => {
  beforeEach(() => User.deleteMany({ username: "chief" }));

  it("creates the first office admin with the given password, and refuses a second of the same name", async function () {
    this.timeout(60_000);
    const { stdout } = await cli(["--username", "chief", "--display-name", "主任"], { RECTIFLOW_ADMIN_PASSWORD: "a-long-secret-1" });
    expect(stdout).to.contain("已创建管理员 chief");
    const user = await User.findOne({ username: "chief" }).lean();
    expect(user).to.include({ role: "office_admin", displayName: "主任" });
    expect(user!.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2/);
    expect(await verifyPassword("chief", "a-long-secret-1")).to.not.equal(null);
    const again = await cli(["--username", "chief"], { RECTIFLOW_ADMIN_PASSWORD: "another-secret-2" }).catch((e) => e);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.contain("已被使用");
  });

  it("refuses a short password and has no default", async function () {
    this.timeout(60_000);
    const r = await cli(["--username", "chief"], { RECTIFLOW_ADMIN_PASSWORD: "short" }).catch((e) => e);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.contain("密码至少 8 位");
    expect(await User.countDocuments({ username: "chief" })).to.equal(0);
  });
});
