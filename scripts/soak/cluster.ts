/**
 * The soak's deployment on loopback: a TLS terminator (nginx, with a throw-away certificate made at start)
 * in front of nginx (a generated configuration; Debian's 1.22 lacks the compose template's `resolve`) in
 * front of two web processes, three worker processes, and control of the Redis that scripts/services.sh started (restart on the same
 * port and directory, AOF on).
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { AppProcess, freePort } from "../../test/support/processes.ts";

const run = promisify(execFile);

/** What happened when, for the report. */
export class Timeline {
  readonly events: { at: number; what: string }[] = [];
  constructor(readonly t0: number) {}
  note(what: string): void {
    this.events.push({ at: Date.now(), what });
    console.log(`  [${this.stamp(Date.now())}] ${what}`);
  }
  stamp(at: number): string {
    return `t+${((at - this.t0) / 1000).toFixed(1)} s`;
  }
}

export class Nginx {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly tlsPort: number,
    readonly accessLog: string,
    /** The terminator's certificate (PEM): the one clients trust for it. */
    readonly ca: string,
  ) {}

  /**
   * nginx on 127.0.0.1:port in front of `upstreams`, as production runs it: keep-alive to the web
   * processes, a request that never reached one (refused, reset) tried on the other, a POST that reached
   * one never resent (the client retries it with its Idempotency-Key), the terminator's X-Forwarded-Proto
   * passed on as deploy/nginx.conf.template does. The access log records which upstreams each request
   * tried. In front of it, on tlsPort, the same nginx acts as the TLS terminator of the bureau's network:
   * https with a self-signed certificate for 127.0.0.1, adding X-Forwarded-For and X-Forwarded-Proto.
   */
  static async start(dir: string, upstreams: number[], maxUploadMb: number): Promise<Nginx> {
    mkdirSync(join(dir, "tmp"), { recursive: true, mode: 0o777 });
    const port = await freePort();
    const tlsPort = await freePort();
    const accessLog = join(dir, "access.log");
    const [cert, key] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    await run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert]).catch(
      (e: { stderr?: string }) => {
        throw new Error(`openssl req could not make the test certificate:\n${e.stderr ?? e}`);
      },
    );
    const conf = `
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} warn;
events { worker_connections 1024; }
http {
  log_format soak '$msec $request_method $status "$upstream_addr" "$upstream_status" $request_time "$uri"';
  access_log ${accessLog} soak;
  client_body_temp_path ${join(dir, "tmp/body")};
  proxy_temp_path ${join(dir, "tmp/proxy")};
  fastcgi_temp_path ${join(dir, "tmp/fastcgi")};
  uwsgi_temp_path ${join(dir, "tmp/uwsgi")};
  scgi_temp_path ${join(dir, "tmp/scgi")};
  map $http_x_forwarded_proto $forwarded_proto {
    default $http_x_forwarded_proto;
    ""      $scheme;
  }
  upstream rectiflow_web {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=3s;`).join("\n")}
    keepalive 32;
  }
  upstream rectiflow_nginx {
    server 127.0.0.1:${port};
    keepalive 32;
  }
  # The TLS terminator.
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    access_log off;
    client_max_body_size ${maxUploadMb}m;
    location / {
      proxy_pass http://rectiflow_nginx;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 120s;
    }
  }
  # nginx as deploy/nginx.conf.template sets it up.
  server {
    listen 127.0.0.1:${port};
    client_max_body_size ${maxUploadMb}m;
    location / {
      proxy_pass http://rectiflow_web;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $forwarded_proto;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 120s;
      add_header X-Upstream $upstream_addr always;
    }
  }
}
`;
    const file = join(dir, "nginx.conf");
    writeFileSync(file, conf);
    const bin = process.env.NGINX ?? "/usr/sbin/nginx";
    await run(bin, ["-t", "-q", "-p", dir, "-c", file]).catch((e: { stderr?: string }) => {
      throw new Error(`nginx -t refused the generated configuration:\n${e.stderr ?? e}`);
    });
    const child = spawn(bin, ["-p", dir, "-c", file, "-g", "daemon off;"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (b: Buffer) => (stderr += b));
    const until = Date.now() + 10_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
      if (ok) break;
      if (child.exitCode !== null || Date.now() > until) throw new Error(`nginx did not start: ${stderr}`);
      await sleep(100);
    }
    return new Nginx(child, port, tlsPort, accessLog, readFileSync(cert, "utf8"));
  }

  /** Where clients go: the TLS terminator. */
  get url(): string {
    return `https://127.0.0.1:${this.tlsPort}`;
  }

  /** At the soak's exit, whatever happened (SIGTERM: the master stops its workers too). */
  killNow(): void {
    if (this.child.exitCode === null) this.child.kill("SIGTERM");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill("SIGQUIT");
    await Promise.race([once(this.child, "exit"), sleep(5000).then(() => this.child.kill("SIGKILL"))]);
  }

  /** Requests nginx passed on to more than one web process (the first one refused or died), by method. */
  retried(): { total: number; byMethod: Record<string, number>; byUpstream: Record<string, number> } {
    const byMethod: Record<string, number> = {};
    const byUpstream: Record<string, number> = {};
    let total = 0;
    for (const line of readFileSync(this.accessLog, "utf8").split("\n")) {
      const m = /^\S+ (\S+) (\d+) "([^"]*)" "([^"]*)"/.exec(line);
      if (!m) continue;
      const [, method, , addrs] = m;
      for (const a of addrs!.split(/,\s*/)) if (a && a !== "-") byUpstream[a] = (byUpstream[a] ?? 0) + 1;
      if (addrs!.includes(",")) {
        total++;
        byMethod[method!] = (byMethod[method!] ?? 0) + 1;
      }
    }
    return { total, byMethod, byUpstream };
  }
}

/** The Redis scripts/services.sh started: restarted on the same port and data directory (AOF replays). */
export class RedisControl {
  constructor(
    readonly url: string,
    readonly dir: string | undefined,
  ) {}

  get restartable(): boolean {
    return !!this.dir;
  }

  /** SHUTDOWN (which writes the AOF out), `downMs` without Redis, then the same server again. */
  async restart(downMs: number, timeline: Timeline): Promise<void> {
    if (!this.dir) throw new Error("RECTIFLOW_REDIS_DIR is unset: Redis was not started by scripts/services.sh");
    const port = new URL(this.url).port;
    const admin = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    admin.on("error", () => {});
    const keys = await admin.dbsize();
    await admin.call("SHUTDOWN").catch(() => undefined);
    admin.disconnect();
    timeline.note(`Redis stopped (SHUTDOWN, ${keys} keys, AOF on)`);
    await sleep(downMs);
    // The same function services.sh starts it with; its exit leaves redis-server running on its own.
    await run("bash", ["-c", 'source scripts/services.sh && redis_start "$0" "$1"', port, this.dir]);
    const back = new Redis(this.url, { maxRetriesPerRequest: 1 });
    const after = await back.dbsize();
    back.disconnect();
    timeline.note(`Redis started again on the same port and directory: ${after} keys after AOF replay`);
  }
}

export interface ClusterOptions {
  env: Record<string, string>;
  webs: number;
  workers: number;
  metricsToken: string;
}

/** The app's processes: web i listens on webPorts[i], worker i serves metrics on metricsPorts[i]. */
export class Cluster {
  readonly webs: AppProcess[] = [];
  readonly workers: AppProcess[] = [];
  /** When each SIGKILL took effect (the process had exited), by role: what a check may hold a repeat against. */
  readonly kills: { role: "web" | "worker"; at: number }[] = [];
  readonly webPorts: number[] = [];
  readonly metricsPorts: number[] = [];
  /** Peak RSS of processes already stopped or killed, by role. */
  readonly peaks: { role: string; mb: number }[] = [];

  constructor(private readonly o: ClusterOptions) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.o.webs; i++) this.webPorts.push(await freePort());
    for (let i = 0; i < this.o.workers; i++) this.metricsPorts.push(await freePort());
    // Started one after another: each builds the indexes at start.
    for (let i = 0; i < this.o.webs; i++) this.webs.push(await this.startWeb(i));
    for (let i = 0; i < this.o.workers; i++) this.workers.push(await this.startWorker(i));
  }

  webUrl(i: number): string {
    return `http://127.0.0.1:${this.webPorts[i]}`;
  }

  startWeb(i: number): Promise<AppProcess> {
    const url = this.webUrl(i);
    // Ready: MongoDB and Redis answer (/readyz), so login limits count in Redis from the first request.
    return AppProcess.start("web", { ...this.o.env, PORT: String(this.webPorts[i]) }, async () => (await fetch(`${url}/readyz`)).ok);
  }

  startWorker(i: number): Promise<AppProcess> {
    const url = `http://127.0.0.1:${this.metricsPorts[i]}/metrics`;
    const auth = { authorization: `Bearer ${this.o.metricsToken}` };
    return AppProcess.start("worker", { ...this.o.env, METRICS_PORT: String(this.metricsPorts[i]) }, async () => (await fetch(url, { headers: auth })).ok);
  }

  /** SIGKILL, then a new process in its place (same port) after `downMs`. */
  async killAndRestart(role: "web" | "worker", i: number, downMs: number, timeline: Timeline): Promise<void> {
    const list = role === "web" ? this.webs : this.workers;
    const old = list[i]!;
    this.keepPeak(role, old);
    await old.kill();
    this.kills.push({ role, at: Date.now() });
    timeline.note(`SIGKILL ${role} ${i + 1} (pid ${old.pid})`);
    await sleep(downMs);
    const t0 = Date.now();
    list[i] = await (role === "web" ? this.startWeb(i) : this.startWorker(i));
    timeline.note(`${role} ${i + 1} started again (pid ${list[i]!.pid}, ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  /** SIGTERM to every process (they drain); returns the exit codes that were not 0. */
  async stop(): Promise<string[]> {
    const bad: string[] = [];
    const all = [...this.webs.map((p, i) => [`web ${i + 1}`, p] as const), ...this.workers.map((p, i) => [`worker ${i + 1}`, p] as const)];
    await Promise.all(
      all.map(async ([name, p]) => {
        this.keepPeak(name.split(" ")[0]!, p);
        if (!p.alive) return;
        p.child.kill("SIGTERM");
        const r = await Promise.race([p.exited, sleep(40_000).then(() => null)]);
        if (!r) {
          bad.push(`${name}: still running 40 s after SIGTERM`);
          await p.kill();
        } else if (r[0] !== 0) bad.push(`${name}: exit ${r[0] ?? r[1]}\n${p.log().slice(-2000)}`);
      }),
    );
    return bad;
  }

  /** At the soak's exit, whatever happened. */
  killNow(): void {
    for (const p of [...this.webs, ...this.workers]) if (p.alive) p.child.kill("SIGKILL");
  }

  private keepPeak(role: string, p: AppProcess): void {
    const mb = p.peakRssMb();
    if (mb !== null) this.peaks.push({ role, mb });
  }

  /** Everything the processes printed (warnings and errors; LOG_LEVEL=warn). */
  logs(): string {
    return [...this.webs.map((p, i) => `--- web ${i + 1}\n${p.log()}`), ...this.workers.map((p, i) => `--- worker ${i + 1}\n${p.log()}`)].join("\n");
  }
}
