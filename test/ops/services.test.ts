/**
 * scripts/with-services.sh cleans up after itself: sent SIGTERM (as `kill -TERM` to the wrapper of
 * `npm start` or `npm test`), or when its command fails, it stops Redis, PostgreSQL and FerretDB, all
 * three started here of its own; and services_down runs every stop step even when one fails.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { expect } from "chai";
import { portOpen } from "../support/processes.ts";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

interface Started {
  child: ChildProcess;
  text: () => string;
  ports: { redis: number; postgres: number; ferretdb: number };
  /** The throw-away data directory and the postmaster's pid in it. */
  data: string;
  postmaster: number;
}

/** The wrapper around `command`, with all three services of its own; resolves once the command runs. */
async function start(command: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = { ...process.env, RECTIFLOW_PG_FAST: "1" };
  for (const k of ["MONGODB_URI", "REDIS_URL", "RECTIFLOW_PG_URL", "RECTIFLOW_REDIS_PORT", "RECTIFLOW_MONGO_PORT", "RECTIFLOW_PG_PORT", "RECTIFLOW_REDIS_DIR", "RECTIFLOW_DATA_DIR"]) delete env[k];
  const child = spawn("bash", ["scripts/with-services.sh", "bash", "-c", `echo command runs; ${command}`], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let text = "";
  child.stdout!.on("data", (b: Buffer) => (text += b));
  child.stderr!.on("data", (b: Buffer) => (text += b));
  const end = Date.now() + 180_000;
  while (!text.includes("command runs")) {
    if (child.exitCode !== null || Date.now() > end) throw new Error(`the services did not start (exit ${child.exitCode})\n${text}`);
    await sleep(200);
  }
  const port = (re: RegExp) => Number(re.exec(text)?.[1]);
  const data = /Redis on \S+ \(data in (\S+)\/redis/.exec(text)![1]!;
  return {
    child,
    text: () => text,
    ports: { redis: port(/Redis on redis:\/\/127\.0\.0\.1:(\d+)/), postgres: port(/DocumentDB on 127\.0\.0\.1:(\d+)/), ferretdb: port(/FerretDB \S+ on mongodb:\/\/127\.0\.0\.1:(\d+)/) },
    data,
    postmaster: Number(readFileSync(`${data}/postgres/postmaster.pid`, "utf8").split("\n")[0]),
  };
}

async function expectAllStopped(s: Started) {
  for (const [name, port] of Object.entries(s.ports)) expect(await portOpen(port), `${name} still listens on ${port}\n${s.text()}`).to.equal(false);
  expect(alive(s.postmaster), "the postmaster still runs").to.equal(false);
  expect(existsSync(s.data), "the throw-away data directory is left").to.equal(false);
}

describe("with-services.sh: every service stops", function () {
  this.timeout(400_000);
  let run: ChildProcess | null = null;
  afterEach(async () => {
    if (run && run.exitCode === null && run.signalCode === null) {
      run.kill("SIGTERM");
      await Promise.race([once(run, "exit"), sleep(60_000)]);
    }
    run = null;
  });

  it("kill -TERM to the wrapper stops the command, then Redis, PostgreSQL and FerretDB", async () => {
    const s = await start("sleep 600");
    run = s.child;
    for (const [name, port] of Object.entries(s.ports)) expect(await portOpen(port), name).to.equal(true);
    expect(alive(s.postmaster)).to.equal(true);
    const exited = once(s.child, "exit") as Promise<[number | null, string | null]>;
    process.kill(s.child.pid!, "SIGTERM");
    const [code] = await exited;
    // The command got SIGTERM (bash reports 143); the wrapper exits with its status.
    expect(code, s.text()).to.equal(143);
    await expectAllStopped(s);
  });

  it("a command that fails stops them as well, and the wrapper exits with its status", async () => {
    const s = await start("exit 3");
    run = s.child;
    const [code] = (await once(s.child, "exit")) as [number | null];
    expect(code, s.text()).to.equal(3);
    await expectAllStopped(s);
  });

  it("services_down runs every stop step under set -e though one fails, names the failure, and returns 1", async () => {
    const script = `set -euo pipefail
source scripts/services.sh
first() { echo first; }
broken() { false; echo "broken went on"; }
last() { echo last; }
_svc_stops=(first broken last)
status=0
services_down || status=$?
echo "status $status"`;
    const { stdout, stderr } = await promisify(execFile)("bash", ["-c", script]);
    // Inside a step, set -e does not apply (a step is a condition): what follows its failure still runs.
    expect(stdout.trim().split("\n")).to.deep.equal(["first", "broken went on", "last", "status 0"]);
    const failing = await promisify(execFile)("bash", ["-c", script.replace('broken() { false; echo "broken went on"; }', "broken() { return 7; }")]);
    expect(failing.stdout.trim().split("\n")).to.deep.equal(["first", "last", "status 1"]);
    expect(failing.stderr).to.contain("stop step broken failed (status 7)");
    expect(stderr).to.equal("");
  });
});
