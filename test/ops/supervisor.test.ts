/**
 * `npm start` as it runs: scripts/with-services.sh (here starting a Redis of its own) around the
 * supervisor (src/supervisor.ts), which runs the web process and a worker as its children. A child that
 * dies is started again while the supervisor and the services stay up; Ctrl-C (SIGINT to the process
 * group) drains the children, then stops the services.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Redis } from "ioredis";
import { createUser } from "../../src/directory.ts";
import { User } from "../../src/db/models.ts";
import { testDbUri } from "../support/hooks.ts";
import { PASSWORD } from "../support/http.ts";
import { freePort, portOpen } from "../support/processes.ts";

interface Line {
  msg?: string;
  child?: string;
  pid?: number;
  signal?: string | null;
  restartInMs?: number;
}

describe("npm start: the supervised processes", () => {
  let run: ChildProcess | null = null;
  afterEach(async () => {
    // Whatever failed: the wrapper stops the supervisor, its children and its Redis.
    if (run && run.exitCode === null && run.signalCode === null) {
      run.kill("SIGTERM");
      await Promise.race([once(run, "exit"), sleep(40_000)]);
    }
    run = null;
  });

  it("a SIGKILLed web process is started again and serves, a worker likewise, while the supervisor and Redis stay up; Ctrl-C drains both, then stops Redis", async function () {
    this.timeout(400_000);
    await User.deleteMany({ username: "sv-admin" });
    await createUser({ username: "sv-admin", displayName: "管理员", password: PASSWORD, role: "office_admin", unitId: null });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      MONGODB_URI: testDbUri(),
      PORT: String(port),
      DEMO_SEED: "0",
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: "10000",
    };
    // A Redis of the wrapper's own (a throw-away directory), so that its stop at the end can be seen.
    for (const k of ["REDIS_URL", "RECTIFLOW_REDIS_PORT", "RECTIFLOW_REDIS_DIR", "RECTIFLOW_DATA_DIR", "SESSION_SECRET"]) delete env[k];
    // In a process group of its own, as at a terminal, so that Ctrl-C can be sent to the group below.
    const child = spawn("bash", ["scripts/with-services.sh", "node", "--import", "tsx", "src/supervisor.ts"], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    run = child;
    const lines: Line[] = [];
    let text = "";
    let partial = "";
    const read = (b: Buffer) => {
      text += b;
      const parts = (partial + b).split("\n");
      partial = parts.pop()!;
      for (const l of parts) if (l.startsWith("{")) lines.push(JSON.parse(l) as Line);
    };
    child.stdout!.on("data", read);
    child.stderr!.on("data", read);
    const until = async (what: string, ok: () => boolean | Promise<boolean>, ms = 120_000) => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (child.exitCode !== null || Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s (exit ${child.exitCode})\n${text.slice(-6000)}`);
        await sleep(200);
      }
    };
    const healthy = () => fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    const ready = (name: string) => lines.filter((l) => l.child === name && l.msg === `${name} ready`).map((l) => l.pid!);

    await until("the web process serves", async () => (await healthy()) && ready("worker").length > 0);
    const redisUrl = /Redis on (redis:\/\/127\.0\.0\.1:(\d+))/.exec(text)![1]!;
    const redisPort = Number(new URL(redisUrl).port);
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on("error", () => {});
    await redis.connect();
    const redisPid = () => redis.info("server").then((i) => /process_id:(\d+)/.exec(i)![1]);
    const redisBefore = await redisPid();
    // The web process holds no worker, and still shows the queues on the 管理 page.
    const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "sv-admin", password: PASSWORD }) });
    expect(login.status).to.equal(200);
    const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
    const queues = await fetch(`${base}/admin/queues`, { headers: { cookie } });
    expect(await queues.text()).to.contain("通知投递").and.contain("通知巡检").and.not.contain("本进程未连接队列");
    const [web1] = ready("web");
    const [worker1] = ready("worker");

    process.kill(web1!, "SIGKILL");
    await until("the web process serves again", async () => ready("web").length === 2 && (await healthy()));
    const webDied = lines.find((l) => l.child === "web" && l.pid === web1 && /died/.test(l.msg ?? ""));
    expect(webDied, text.slice(-4000)).to.include({ signal: "SIGKILL", restartInMs: 1000 });
    expect(ready("web")[1]).to.not.equal(web1);
    // The new web process knows the session: the supervisor gave both the same secret (none was configured).
    expect((await fetch(`${base}/api/me`, { headers: { cookie } })).status).to.equal(200);

    process.kill(worker1!, "SIGKILL");
    await until("the worker works again", () => ready("worker").length === 2);
    expect(lines.find((l) => l.child === "worker" && l.pid === worker1 && /died/.test(l.msg ?? ""))).to.include({ signal: "SIGKILL" });

    // The services never went down: the same Redis process, and the wrapper still runs.
    expect(await redisPid()).to.equal(redisBefore);
    expect(child.exitCode).to.equal(null);
    redis.disconnect();

    // Ctrl-C: SIGINT to the terminal's process group.
    process.kill(-child.pid!, "SIGINT");
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code, text.slice(-4000)).to.equal(0);
    // Only the wrapper got the SIGINT (the supervisor and the services run in groups of their own); it passed SIGTERM on.
    expect(lines.find((l) => l.msg === "stopping: every process drains")).to.include({ signal: "SIGTERM" });
    // Each child drained and exited 0 before the wrapper stopped Redis.
    expect(text).to.match(/web: drained/);
    expect(lines.filter((l) => /stopped$/.test(l.msg ?? "")).map((l) => [l.child, (l as { code?: number }).code])).to.have.deep.members([
      ["web", 0],
      ["worker", 0],
    ]);
    expect(await portOpen(port)).to.equal(false);
    expect(await portOpen(redisPort)).to.equal(false);
  });
});
