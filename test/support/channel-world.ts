/**
 * The setup the channel and recipient tests share: a fresh world per test, the providers' fakes and
 * workers closed after it, and a worker configured against the fakes (every provider's base URL a setting).
 */
import { loadConfig, type Config } from "../../src/config.ts";
import { log } from "../../src/log.ts";
import { startWorker, type RunningWorker } from "../../src/worker.ts";
import { providerEnv, type Fake, type SmsAccount } from "./fakes.ts";
import { makeWorld, type World } from "./fixtures.ts";
import { makeUsers, signIn, testApp, type Client } from "./http.ts";
import { freshPrefix } from "./receivers.ts";

/** A cron that never fires in a test: the sweep runs only when a test asks. */
export const NEVER = "0 0 1 1 *";
/** The SMS account the fake provider knows. */
export const SMS: SmsAccount = { accessKeyId: "LTAI5tFakeAccessKeyId", accessKeySecret: "FakeAccessKeySecretForTests000", signName: "整改办", templates: ["SMS_465000001"] };

export interface ChannelWorld {
  readonly w: World;
  /** Runs f after this test (in reverse order of registration). */
  later(f: () => Promise<unknown>): void;
  /** A started fake, closed after the test. */
  serving<F extends Fake>(f: Promise<F>): Promise<F>;
  configFor(fakes: { wecom?: Fake; dingtalk?: Fake; feishu?: Fake; sms?: Fake }, env?: Record<string, string>): Config;
  /** The real app over this world, with the directory's users (makeUsers), closed after the test. */
  app(env?: Record<string, string>): Promise<{ signIn(username: string): Promise<Client> }>;
  /** A worker in this process (no schedules), closed after the test. */
  run(config: Config): Promise<RunningWorker>;
}

/** Registers the hooks inside a describe(); `prefix` names the test's queues. */
export function useChannelWorld(prefix: string): ChannelWorld {
  let w: World;
  let cleanups: (() => Promise<unknown>)[] = [];
  let logLevel: string;
  before(() => {
    logLevel = log.level;
    log.level = "error";
  });
  after(() => {
    log.level = logLevel;
  });
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
  });
  afterEach(async function () {
    this.timeout(30_000);
    const fs = cleanups.reverse();
    cleanups = [];
    for (const f of fs) await f().catch((e: Error) => console.error(`cleanup: ${e.message}`));
  });
  const later = (f: () => Promise<unknown>) => void cleanups.push(f);
  return {
    get w() {
      return w;
    },
    later,
    async serving(f) {
      const fake = await f;
      later(() => fake.close());
      return fake;
    },
    configFor(fakes, env = {}) {
      return loadConfig({
        ...process.env,
        QUEUE_PREFIX: freshPrefix(prefix),
        DELIVERY_BACKOFF_MS: "50",
        DELIVERY_ATTEMPTS: "4",
        STALLED_INTERVAL_MS: "1000",
        WEBHOOK_TIMEOUT_MS: "3000",
        SWEEP_CRON: NEVER,
        PUBLIC_URL: "https://zgb.example.gov.cn",
        ...providerEnv(fakes, SMS),
        ...env,
      });
    },
    async app(env = {}) {
      await makeUsers(w);
      const t = testApp(w, env);
      later(t.close);
      return { signIn: (username) => signIn(t.app, username) };
    },
    async run(config) {
      const worker = await startWorker(config, w.clock, { schedule: false });
      later(() => worker.close());
      return worker;
    },
  };
}
