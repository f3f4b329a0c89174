/**
 * Bench 8: delivery rate per channel under the providers' limits, against the local fakes of
 * test/support/fakes.ts (which refuse what the providers refuse). One unit per channel, notices
 * issued by hand, one in-process worker. 飞书 (5 a second) and SMS (no limit of ours) run to the end
 * and give a rate; 企业微信 and 钉钉 (20 a minute) give the time of their first minute's 20 and how
 * many the limit held back, without waiting the minute out. The limits are read from ROBOT_LIMITS.
 */
import mongoose from "mongoose";
import type { Actor } from "../workflows/index.ts";
import { CaseService } from "../src/cases/service.ts";
import { systemClock } from "../src/clock.ts";
import { loadConfig } from "../src/config.ts";
import { NoticeDelivery, Unit } from "../src/db/models.ts";
import { createUnit } from "../src/directory.ts";
import { enqueueDeliveries } from "../src/notices/delivery.ts";
import { issueByHand, type NoticeRecord } from "../src/notices/issuer.ts";
import { ROBOT_LIMITS } from "../src/notices/robot-limits.ts";
import { deliveryOptions, startWorker } from "../src/worker.ts";
import { newInspection } from "../test/support/fixtures.ts";
import { busiest, fakeDingtalk, fakeFeishu, fakeSms, fakeWecom, providerEnv, type Fake, type SmsAccount } from "../test/support/fakes.ts";
import type { BenchContext } from "./run.ts";

const KEY = "bench0000-wecom-key";
const TOKEN = "bench00000000000000dingtalktoken";
const DING_SECRET = "SECbench000000000000000000000000";
const HOOK = "bench0000-feishu-hook";
const FEISHU_SECRET = "benchFeishuSecret000";
const SMS: SmsAccount = { accessKeyId: "LTAIbench", accessKeySecret: "benchAccessKeySecret", signName: "整改办", templates: ["SMS_100000001"] };
const OFFICE: Actor = { id: "bench-office", name: "整改办", role: "office_staff", unitId: null };

async function waitFor(what: string, f: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`bench 8: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function benchChannels(ctx: BenchContext): Promise<void> {
  const { sizes, results } = ctx;
  const wecom = await fakeWecom([KEY]);
  const dingtalk = await fakeDingtalk({ [TOKEN]: DING_SECRET });
  const feishu = await fakeFeishu({ [HOOK]: FEISHU_SECRET });
  const sms = await fakeSms(SMS);
  const fakes: Fake[] = [wecom, dingtalk, feishu, sms];
  const config = loadConfig({
    ...process.env,
    MONGODB_URI: ctx.dbUri,
    REDIS_URL: ctx.redisUrl,
    // A prefix of its own per run: the robots' rate-limit logs of an earlier run must not count.
    QUEUE_PREFIX: `${ctx.prefix}-ch${Date.now()}`,
    SWEEP_CRON: "0 0 1 1 *",
    ...providerEnv({ wecom, dingtalk, feishu, sms }, SMS),
  });
  const worker = await startWorker(config, systemClock, { schedule: false });
  const service = new CaseService(systemClock);
  const notify = {
    wecom: { wecom: { key: KEY, mobiles: [] } },
    dingtalk: { dingtalk: { token: TOKEN, secret: DING_SECRET, mobiles: [] } },
    feishu: { feishu: { hook: HOOK, secret: FEISHU_SECRET } },
    sms: { sms: { mobiles: ["13800000001"] } },
  } as const;
  let cases = 0;
  /** n notices to a unit that has only this channel; resolves to a function that queues them all at once (and gives their ids). */
  const issue = async (channel: keyof typeof notify, n: number): Promise<() => Promise<string[]>> => {
    const unit = await createUnit({ name: `基准单位-${channel}-${Date.now()}` });
    await Unit.updateOne({ _id: unit._id }, { $set: Object.fromEntries(Object.entries(notify[channel]).map(([k, v]) => [`notify.${k}`, v])) });
    const c = await service.createCase(newInspection(++cases), OFFICE);
    const assigned = (await service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: unit._id.toString(), coUnitIds: [], deadline: "2030-06-30" } }, OFFICE)).case;
    const notices: NoticeRecord[] = [];
    for (let i = 0; i < n; i++) notices.push(await issueByHand(assigned, { level: "supervision", requirement: `基准第 ${i + 1} 条` }, OFFICE, systemClock));
    return async () => {
      await enqueueDeliveries(worker.deliveryQueue, notices.flatMap((x) => x.deliveries ?? []), deliveryOptions(config));
      return notices.map((x) => x._id);
    };
  };
  const count = (ids: string[], channel: string, filter: Record<string, unknown>) => NoticeDelivery.countDocuments({ noticeId: mongoose.trusted({ $in: ids }), channel, ...filter } as never);
  try {
    // 飞书: 5 a second and 100 a minute.
    const perSecond = ROBOT_LIMITS.feishu[0]!.limit;
    const nf = sizes.quick ? 30 : 90;
    const queueFeishu = await issue("feishu", nf);
    const t0 = Date.now();
    const fids = await queueFeishu();
    await waitFor("飞书 deliveries", async () => (await count(fids, "feishu", { status: "sent" })) === nf, 120_000);
    const fs = (Date.now() - t0) / 1000;
    const refusedF = feishu.requests.filter((r) => r.code !== 0).length;
    results.add("8 channels", `飞书, ${nf} notices to one robot`, "messages/s", [nf / fs], `limit ${perSecond}/s: busiest second ${busiest(feishu.requests.map((r) => r.at), 1000)}, refused ${refusedF}`);

    // 企业微信 and 钉钉: 20 a minute; 5 more than the limit.
    for (const [channel, fake, label] of [
      ["wecom", wecom, "企业微信"],
      ["dingtalk", dingtalk, "钉钉"],
    ] as const) {
      const perMinute = ROBOT_LIMITS[channel][0]!.limit;
      const over = 5;
      const n = perMinute + over;
      const queued = await issue(channel, n);
      const t1 = Date.now();
      const ids = await queued();
      await waitFor(`${label} burst`, async () => (await count(ids, channel, { status: "sent" })) === perMinute && (await count(ids, channel, { status: "pending", waitUntil: mongoose.trusted({ $ne: null }) })) === over, 60_000);
      const refused = fake.requests.filter((r) => r.code !== 0).length;
      results.add("8 channels", `${label}, ${n} notices to one robot: the first ${perMinute}`, "s", [(Date.now() - t1) / 1000], `limit ${perMinute}/min: the other ${over} wait (delayed) for the next minute; refused ${refused}`);
    }

    // SMS: no rate limit of ours; the fake answers at once.
    const ns = sizes.quick ? 100 : 1000;
    const queueSms = await issue("sms", ns);
    const t2 = Date.now();
    const sids = await queueSms();
    await waitFor("SMS deliveries", async () => (await count(sids, "sms", { status: "sent" })) === ns, 300_000);
    results.add("8 channels", `SMS, ${ns} notices (one number each)`, "messages/s", [ns / ((Date.now() - t2) / 1000)], `concurrency ${config.DELIVERY_CONCURRENCY}; each recorded (dispatchedAt) before it is sent; ${sms.messages().length} messages at the fake`);
  } finally {
    await worker.close();
    await Promise.all(fakes.map((f) => f.close()));
  }
}
