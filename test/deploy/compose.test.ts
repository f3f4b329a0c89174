import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

describe("docker-compose.yml", () => {
  it("passes dclint (Compose schema and common mistakes)", async function () {
    this.timeout(60_000);
    const { stdout, stderr } = await run("npx", ["dclint", "docker-compose.yml"]).catch((e) => {
      throw new Error(`dclint failed:\n${e.stdout}${e.stderr}`);
    });
    expect(`${stdout}${stderr}`).to.not.match(/error/i);
  });

  it("describes MongoDB 7 as a replica set, Redis 7 with AOF and noeviction, and health checks everywhere", async () => {
    const text = await readFile("docker-compose.yml", "utf8");
    expect(text).to.match(/image: mongo:7\b/);
    expect(text).to.contain('"--replSet", "rs0"');
    expect(text).to.contain("rs.initiate");
    expect(text).to.match(/image: redis:7\b/);
    expect(text).to.contain('"--appendonly", "yes"');
    expect(text).to.contain('"--maxmemory-policy", "noeviction"');
    const services = text.split(/\n {2}(?=\w+:\n)/).slice(1);
    expect(services.length).to.be.at.least(4);
    expect(text).to.contain('"src/main.ts", "worker"').and.contain('"src/main.ts", "web"');
    for (const s of services) expect(s, s.split("\n")[0]).to.contain("healthcheck:");
  });
});
