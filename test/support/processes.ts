/**
 * The app's own processes (`src/main.ts web|worker`) as children, for tests, the benchmarks and the
 * soak: started with node directly (so the pid is the app's, for signals and peak RSS), output kept.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Whether something listens on a loopback port. */
export const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });

/** Peak resident set size of a live process (Linux /proc), in MB. */
export function peakRssMb(pid: number): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

export class AppProcess {
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  private constructor(
    readonly mode: string,
    readonly child: ChildProcess,
    private readonly output: string[],
  ) {
    this.exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  }

  /** Starts `src/main.ts <mode>` with `env` over this process's environment; resolves once `ready()` says so (60 s at most). */
  static async start(mode: "web" | "worker" | "all", env: Record<string, string>, ready: () => Promise<boolean>): Promise<AppProcess> {
    // The heap capped as package.json, the Dockerfile and docker-compose.yml run the app.
    const child = spawn(process.execPath, ["--max-old-space-size=192", "--import", "tsx", "src/main.ts", mode], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const output: string[] = [];
    const keep = (b: Buffer) => {
      output.push(b.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const p = new AppProcess(mode, child, output);
    const until = Date.now() + 60_000;
    while (!(await ready().catch(() => false))) {
      if (!p.alive) throw new Error(`${mode} exited with ${child.exitCode ?? child.signalCode}:\n${output.join("")}`);
      if (Date.now() > until) {
        child.kill("SIGKILL");
        throw new Error(`${mode} did not become ready in 60 s:\n${output.join("")}`);
      }
      await sleep(200);
    }
    return p;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  peakRssMb(): number | null {
    return this.child.pid ? peakRssMb(this.child.pid) : null;
  }

  /** SIGTERM and wait (SIGKILL after 15 s); returns the peak RSS read just before. */
  async stop(): Promise<number | null> {
    const peak = this.peakRssMb();
    if (this.alive) {
      this.child.kill("SIGTERM");
      await Promise.race([this.exited, sleep(15_000).then(() => this.child.kill("SIGKILL"))]);
    }
    return peak;
  }

  /** SIGKILL and wait. */
  async kill(): Promise<void> {
    if (this.alive) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }

  log(): string {
    return this.output.join("");
  }
}
