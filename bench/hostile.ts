/**
 * Bench 9: the peak RSS of a web process (its own, the heap capped as deployed) while issue 20's
 * hostile inputs arrive, one after another: a zip-bomb .xlsx, 1 MB text fields by the hundred
 * without a token and with one, a sparse array index, an over-long URL, broken UTF-8 in JSON. Each
 * must be refused (4xx) and the process must still answer; the figure says what the refusals cost.
 * The payloads are the test suite's (test/support/hostile.ts).
 */
import { loadConfig } from "../src/config.ts";
import { DEMO_UNITS, seedDirectory } from "../src/seed.ts";
import { manyFields, multipart, send, zipBombXlsx, type Answer } from "../test/support/hostile.ts";
import { AppProcess, freePort, signIn } from "./lib.ts";
import type { BenchContext } from "./run.ts";

const BENCH = "9 hostile input";

export async function benchHostile(ctx: BenchContext): Promise<void> {
  const password = loadConfig().DEMO_PASSWORD;
  await seedDirectory(password);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { MONGODB_URI: ctx.dbUri, REDIS_URL: ctx.redisUrl, QUEUE_PREFIX: ctx.prefix, PORT: String(port), DEMO_SEED: "0" };
  const web = await AppProcess.start("web", env, async () => (await fetch(`${base}/healthz`)).ok);
  try {
    const [staff, unit, leader] = [await signIn(base, "staff", password), await signIn(base, DEMO_UNITS[0]![0], password), await signIn(base, "leader", password)];
    const fields = ctx.sizes.quick ? 50 : 250;
    const bombMb = ctx.sizes.quick ? 100 : 300;
    const boundary = "----rectiflow-bench-hostile";
    const form = `multipart/form-data; boundary=${boundary}`;
    const action = `${base}/cases/000000000000000000000000/actions/REPORT_PROGRESS`;
    const bomb = await zipBombXlsx(bombMb);
    const probes: [string, () => Promise<Answer>][] = [
      [
        `zip-bomb .xlsx (${bombMb} MB inflated) to POST /api/imports`,
        () =>
          send(`${base}/api/imports?dryRun=true`, {
            headers: { cookie: staff.cookie, "x-csrf-token": staff.csrf, "content-type": form },
            body: multipart(boundary, [], { field: "file", name: "清单.xlsx", type: "application/octet-stream", data: bomb }),
          }),
      ],
      [`${fields} × 1 MB fields, no token`, () => send(action, { headers: { cookie: unit.cookie, "content-type": form }, body: manyFields(boundary, fields, 2 ** 20) })],
      [`${fields} × 1 MB fields, with the token`, () => send(`${action}?_csrf=${unit.csrf}`, { headers: { cookie: unit.cookie, "content-type": form }, body: manyFields(boundary, fields, 2 ** 20) })],
      [
        "existingAttachmentIds[1000000000]",
        () => send(`${action}?_csrf=${leader.csrf}`, { headers: { cookie: leader.cookie, "content-type": form }, body: multipart(boundary, [["existingAttachmentIds[1000000000]", "x"]]) }),
      ],
      ["a 70 KB query string", () => send(`${base}/api/cases?q=${"a".repeat(70_000)}`, { method: "GET", headers: { cookie: staff.cookie } })],
      [
        "broken UTF-8 in JSON",
        () => send(`${base}/api/cases`, { headers: { cookie: staff.cookie, "x-csrf-token": staff.csrf, "content-type": "application/json" }, body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]) }),
      ],
    ];
    ctx.results.add(BENCH, "web peak RSS before", "MB", [web.peakRssMb() ?? 0]);
    const statuses: Record<string, number | string> = {};
    for (const [what, probe] of probes) {
      const t0 = performance.now();
      const answer = await probe().catch((e: Error) => ({ status: e.message }) as unknown as Answer);
      statuses[what] = answer.status;
      const up = web.alive && (await fetch(`${base}/healthz`).then((r) => r.ok, () => false));
      if (!up) throw new Error(`bench 8: the web process did not survive "${what}":\n${web.log().slice(-2000)}`);
      ctx.results.add(BENCH, `web peak RSS after: ${what}`, "MB", [web.peakRssMb() ?? 0], `answered ${answer.status} in ${Math.round(performance.now() - t0)} ms`);
    }
    ctx.results.facts[BENCH] = { statuses };
  } finally {
    await web.stop();
  }
}
