/**
 * SIGTERM drains a web process (src/main.ts web, a real child process): it stops accepting at once,
 * answers the request in flight, closes its keep-alive connections instead of waiting for their
 * timeout, and exits 0.
 */
import { request } from "node:http";
import { connect } from "node:net";
import { expect } from "chai";
import { setTimeout as sleep } from "node:timers/promises";
import { makeWorld, newInspection, PNG } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { PASSWORD, makeUsers } from "../support/http.ts";
import { AppProcess, freePort } from "../support/processes.ts";

/** Resolves to "open" or the connect error's code. */
const tryConnect = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve("open");
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

describe("web process shutdown", () => {
  let web: AppProcess | null = null;
  afterEach(async () => {
    await web?.kill();
    web = null;
  });

  it("on SIGTERM refuses new connections, finishes a slow upload in flight with 201, closes idle keep-alive connections and exits 0", async function () {
    this.timeout(60_000);
    const w = await makeWorld();
    await makeUsers(w);
    const c = await w.service.createCase(newInspection(), w.office);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    web = await AppProcess.start(
      "web",
      { MONGODB_URI: testDbUri(), PORT: String(port), SESSION_SECRET: "s".repeat(40), DEMO_SEED: "0", LOG_LEVEL: "warn", SHUTDOWN_TIMEOUT_MS: "20000" },
      async () => (await fetch(`${base}/healthz`)).ok,
    );
    const login = await fetch(`${base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "staff", password: PASSWORD }) });
    expect(login.status).to.equal(200);
    const cookie = login.headers.getSetCookie()[0]!.split(";")[0]!;
    const { csrfToken } = (await login.json()) as { csrfToken: string };

    // An idle keep-alive connection, as a proxy keeps them: one request answered, then nothing.
    const idle = connect(port, "127.0.0.1");
    idle.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
    let idleAnswer = "";
    idle.on("data", (b: Buffer) => (idleAnswer += b));
    const idleClosed = new Promise<void>((resolve) => idle.once("close", () => resolve()));
    await sleep(200);

    // An evidence upload whose body arrives slowly: the PNG, then padding, over about two seconds.
    const boundary = "----rectiflow-shutdown-test";
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="现场.png"\r\nContent-Type: image/png\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const chunks = [Buffer.concat([head, PNG]), ...Array.from({ length: 10 }, () => Buffer.alloc(4096)), tail];
    const length = chunks.reduce((n, b) => n + b.length, 0);
    const answer = new Promise<{ status: number; body: string; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        `${base}/api/cases/${c._id}/attachments`,
        { method: "POST", headers: { cookie, "x-csrf-token": csrfToken, "content-type": `multipart/form-data; boundary=${boundary}`, "content-length": length } },
        (res) => {
          let body = "";
          res.on("data", (b: Buffer) => (body += b));
          res.on("end", () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
        },
      );
      req.on("error", reject);
      void (async () => {
        for (const [i, chunk] of chunks.entries()) {
          req.write(chunk);
          if (i === 1) {
            // The request is in flight: stop the process now.
            web!.child.kill("SIGTERM");
            await sleep(300);
            refused = await tryConnect(port);
          }
          await sleep(200);
        }
        req.end();
      })();
    });
    let refused = "";
    const res = await answer;
    const answeredAt = Date.now();
    expect(refused, "a new connection after SIGTERM").to.equal("ECONNREFUSED");
    expect(res.status, res.body).to.equal(201);
    expect(JSON.parse(res.body)).to.include({ type: "image/png", name: "现场.png" });
    // The response closes its connection rather than keeping it for the next request.
    expect(res.connection).to.equal("close");
    expect(idleAnswer).to.match(/^HTTP\/1.1 200/);
    await idleClosed;
    const [code, signal] = await web.exited;
    expect({ code, signal }, web.log()).to.deep.equal({ code: 0, signal: null });
    // Not held open by the keep-alive timeout (65 s).
    expect(Date.now() - answeredAt).to.be.lessThan(5000);
  });
});
