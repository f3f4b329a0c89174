/**
 * The morning digest (src/notices/digest.ts) with the real ledger, Redis and worker: what each recipient's
 * digest lists (a unit only its own cases), once per recipient and day however many passes run, late after
 * downtime, none on a holiday; and which notices go to robots and SMS at once (instant.ts).
 */
import { expect } from "chai";
import mongoose from "mongoose";
import { ManualClock } from "../../src/clock.ts";
import { loadConfig } from "../../src/config.ts";
import { createUnit } from "../../src/directory.ts";
import { SCHEMAS } from "../../src/http/contract.ts";
import { createLeader } from "../../src/notices/addressees.ts";
import { Digest, NoticeDelivery, Unit, type CaseDoc } from "../../src/db/models.ts";
import { log } from "../../src/log.ts";
import { DigestIssuer, type DigestRecord, type DigestSettings } from "../../src/notices/digest.ts";
import { enqueueDeliveries, type PendingDelivery } from "../../src/notices/delivery.ts";
import { setInstantLevel } from "../../src/notices/instant.ts";
import { DIGEST_REASON, issueByHand } from "../../src/notices/issuer.ts";
import { deliveryOptions, startWorker } from "../../src/worker.ts";
import { fakeWecom } from "../support/fakes.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";
import { makeUsers, signIn, testApp } from "../support/http.ts";
import { freshPrefix, until } from "../support/receivers.ts";

const SETTINGS: DigestSettings = { time: "08:30", dueWorkdays: 3, items: 5 };
const WECOM_KEY = "693a91f6-7f9c-4bc4-97a0-0ec2digest01";

describe("the morning digest", () => {
  let w: World;
  let leaderId: string;
  beforeEach(async () => {
    w = await makeWorld("2026-02-02T10:00:00+08:00");
    await Digest.deleteMany({});
    // Every leader in 接收渠道 gets a digest: only this test's one (the world starts without any).
    leaderId = (await createLeader({ name: "分管副市长" })).id;
  });
  afterEach(async () => {
    setInstantLevel({ DIGEST_TIME: "08:30", DIGEST_INSTANT_LEVEL: "red" });
  });

  const assign = async (n: number, leadUnitId: string, deadline: string, coUnitIds: string[] = []): Promise<CaseDoc> => {
    const c = await w.service.createCase(newInspection(n), w.office);
    return (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId, coUnitIds, deadline } }, w.office)).case;
  };
  const sign = (c: CaseDoc, who = w.lead) => w.service.applyEvent(c._id.toString(), { type: "SIGN" }, who);
  const at = (clock: ManualClock, when: string, onIssued?: (d: PendingDelivery[]) => Promise<unknown>) => {
    clock.set(when);
    return new DigestIssuer(SETTINGS, clock, onIssued).run();
  };
  const digestOf = (key: string, day: string) => Digest.findById(`digest-${day}-${key}`).lean<DigestRecord>();
  const section = (d: DigestRecord, key: string) => d.sections.find((s) => s.key === key)!;
  const ids = (d: DigestRecord) => d.sections.flatMap((s) => s.items.map((i) => i.caseId));

  /**
   * On Monday 2026-03-02: the lead unit has one case overdue (signed, deadline 02-27), one assigned and not
   * signed due 03-04 with the co unit on it, one due 03-06 (beyond 3 working days); the other unit one
   * overdue and one to sign; one case is registered, not yet assigned (the office's 待交办).
   */
  async function ledger() {
    const overdue = await assign(1, w.units.lead, "2026-02-27");
    await sign(overdue);
    const other = await assign(2, w.units.other, "2026-02-26");
    await sign(other, w.other);
    w.clock.set("2026-03-02T09:00:00+08:00");
    const toSign = await assign(3, w.units.lead, "2026-03-04", [w.units.co]);
    const later = await assign(4, w.units.lead, "2026-03-06");
    await sign(later);
    const otherToSign = await assign(5, w.units.other, "2026-03-20");
    const registered = await w.service.createCase(newInspection(6), w.office);
    return { overdue, other, toSign, later, otherToSign, registered };
  }

  it("lists for each unit only its own cases: overdue, to sign (lead only), due within 3 working days, unsigned notices; the office its work lists; a leader every unit's", async () => {
    const c = await ledger();
    const n = await issueByHand(c.overdue, { level: "red", requirement: "请说明超期原因" }, w.office, w.clock);
    const run = await at(w.clock, "2026-03-02T09:00:00+08:00");
    expect(run.skipped).to.equal(null);
    expect(run.issued.map((d) => d.recipient.key)).to.have.members([`unit-${w.units.lead}`, `unit-${w.units.co}`, `unit-${w.units.other}`, "office", leaderId]);

    const lead = (await digestOf(`unit-${w.units.lead}`, "2026-03-02"))!;
    expect(lead.recipient).to.include({ kind: "unit", name: "市生态环境局", unitId: w.units.lead });
    expect(section(lead, "overdue")).to.deep.include({ total: 1, label: "已超期" });
    expect(section(lead, "overdue").items[0]).to.deep.include({ caseId: c.overdue._id.toString(), note: "期限 2026-02-27，已超期 3 天" });
    expect(section(lead, "sign").items.map((i) => i.caseId)).to.deep.equal([c.toSign._id.toString()]);
    expect(section(lead, "due").items.map((i) => i.caseId)).to.deep.equal([c.toSign._id.toString()]);
    expect(section(lead, "due").items[0]!.note).to.equal("2026-03-04 到期，还有 2 个工作日");
    expect(section(lead, "notices").items.map((i) => i.noticeId)).to.deep.equal([n._id]);
    const mine = new Set([c.overdue, c.toSign, c.later].map((x) => x._id.toString()));
    expect(ids(lead).every((id) => !id || mine.has(id)), "only the lead unit's cases").to.equal(true);

    // The co unit sees the case it joins as due, but does not sign for it; the other unit sees only its own.
    const co = (await digestOf(`unit-${w.units.co}`, "2026-03-02"))!;
    expect(section(co, "due").total).to.equal(1);
    expect(section(co, "sign").total).to.equal(0);
    expect(section(co, "overdue").total).to.equal(0);
    expect(section(co, "notices").total).to.equal(0);
    const other = (await digestOf(`unit-${w.units.other}`, "2026-03-02"))!;
    expect(section(other, "overdue").items.map((i) => i.caseId)).to.deep.equal([c.other._id.toString()]);
    expect(section(other, "sign").items.map((i) => i.caseId)).to.deep.equal([c.otherToSign._id.toString()]);
    expect(ids(other).some((id) => id && mine.has(id)), "none of the lead unit's").to.equal(false);

    const office = (await digestOf("office", "2026-03-02"))!;
    expect(section(office, "awaiting-assign").items.map((i) => i.caseId)).to.deep.equal([c.registered._id.toString()]);
    expect(section(office, "overdue").total).to.equal(2);
    expect(section(office, "overdue").items[0]!.note).to.match(/^市住建局，期限 2026-02-26/);
    const leader = (await digestOf(leaderId, "2026-03-02"))!;
    expect(section(leader, "overdue").total).to.equal(2);
    expect(section(leader, "due").total).to.equal(1);
    // None has a channel configured: recorded, saying so, and nothing queued.
    expect(lead.note).to.equal("未配置接收渠道");
    expect(await NoticeDelivery.countDocuments({ noticeId: mongoose.trusted({ $regex: "^digest-" }) })).to.equal(0);
  });

  it("a unit with nothing waiting gets its digest recorded as empty, and no message", async () => {
    await Unit.updateOne({ _id: w.units.co }, { $set: { "notify.emails": ["co@example.cn"] } });
    await ledger();
    const run = await at(w.clock, "2026-03-02T09:00:00+08:00");
    expect(run.issued.length).to.equal(5);
    // The co unit has a case due (it joins one), so it is not empty and its email is queued; a unit created empty has nothing.
    const empty = await createUnit({ name: "市统计局" });
    await Unit.updateOne({ _id: empty._id }, { $set: { "notify.emails": ["tj@example.cn"] } });
    const again = await at(w.clock, "2026-03-02T09:05:00+08:00");
    expect(again.issued.map((d) => d.recipient.key)).to.deep.equal([`unit-${empty._id.toString()}`]);
    expect(again.issued[0]).to.include({ empty: true, note: null });
    expect(await NoticeDelivery.countDocuments({ noticeId: again.issued[0]!._id })).to.equal(0);
    expect(await NoticeDelivery.countDocuments({ noticeId: `digest-2026-03-02-unit-${w.units.co}` })).to.equal(1);
  });

  it("goes once per recipient and day through the delivery jobs, however many workers and passes run", async function () {
    this.timeout(40_000);
    const level = log.level;
    log.level = "error";
    const wecom = await fakeWecom([WECOM_KEY]);
    const config = loadConfig({ ...process.env, QUEUE_PREFIX: freshPrefix("dg"), SWEEP_CRON: "0 0 1 1 *", WECOM_BASE_URL: wecom.base, PUBLIC_URL: "https://zgb.example.gov.cn", DELIVERY_BACKOFF_MS: "50" });
    const worker = await startWorker(config, w.clock, { schedule: false });
    try {
      await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.wecom": { key: WECOM_KEY, mobiles: [] } } });
      const c = await ledger();
      const queued: PendingDelivery[] = [];
      const onIssued = async (d: PendingDelivery[]) => {
        queued.push(...d);
        return enqueueDeliveries(worker.deliveryQueue, d, deliveryOptions(config));
      };
      // Two workers' passes at once, then a later pass the same morning.
      const clocks = [new ManualClock(), new ManualClock()];
      const runs = await Promise.all(clocks.map((k) => at(k, "2026-03-02T08:31:00+08:00", onIssued)));
      const later = await at(new ManualClock(), "2026-03-02T15:00:00+08:00", onIssued);
      expect(later.issued).to.deep.equal([]);
      expect(runs.flatMap((r) => r.issued.map((d) => d.recipient.key)).sort()).to.deep.equal([leaderId, "office", `unit-${w.units.co}`, `unit-${w.units.lead}`, `unit-${w.units.other}`].sort());
      expect(await Digest.countDocuments({ day: "2026-03-02" })).to.equal(5);
      expect(queued.map((d) => `${d.noticeId}:${d.channel}`)).to.deep.equal([`digest-2026-03-02-unit-${w.units.lead}:wecom`]);
      const d = await until("the digest sent", async () => {
        const x = await NoticeDelivery.findById(`digest-2026-03-02-unit-${w.units.lead}:wecom`).lean();
        return x?.status !== "pending" && x;
      });
      expect(d).to.include({ status: "sent", attempts: 1, target: "企业微信机器人" });
      expect(wecom.accepted()).to.have.length(1);
      const text = (wecom.accepted()[0]!.json as { markdown: { content: string } }).markdown.content;
      expect(text).to.contain("【每日待办】市生态环境局 2026年3月2日");
      expect(text).to.contain(`https://zgb.example.gov.cn/cases/${c.overdue._id.toString()}`).and.contain(c.overdue.ledgerNumber);
      expect(text).to.not.contain(c.other._id.toString()).and.not.contain(c.otherToSign._id.toString());
      expect(text.endsWith("[查看全文](https://zgb.example.gov.cn/)")).to.equal(true);
    } finally {
      await worker.close();
      await wecom.close();
      log.level = level;
    }
  });

  it("晨报 are visible: the office sees every digest, a unit only its own, a leader only their own; with counts per section and each channel's delivery state (API and page)", async function () {
    this.timeout(30_000);
    await makeUsers(w);
    // The leader account "leader" is the 接收渠道 leader of that name; "分管副市长" is another leader.
    const own = await createLeader({ name: "leader" });
    await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.wecom": { key: WECOM_KEY, mobiles: [] } } });
    await Unit.updateOne({ _id: w.units.other }, { $set: { "notify.emails": ["zj@example.cn"] } });
    const c = await ledger();
    await at(w.clock, "2026-03-02T08:40:00+08:00");
    await NoticeDelivery.updateOne({ _id: `digest-2026-03-02-unit-${w.units.lead}:wecom` }, { $set: { status: "sent", sentAt: new Date("2026-03-02T00:41:00Z"), attempts: 1, target: "企业微信机器人" } });
    await NoticeDelivery.updateOne({ _id: `digest-2026-03-02-unit-${w.units.other}:email` }, { $set: { status: "failed", attempts: 4, lastError: "未配置 SMTP_URL，无法发送邮件" } });
    const { app, close } = testApp(w);
    try {
      const as = Object.fromEntries(await Promise.all(["staff", "lead", "other", "leader"].map(async (who) => [who, await signIn(app, who)] as const)));
      const list = async (who: string, q = "") => (await as[who]!.agent.get(`/api/digests${q}`).expect(200)).body as { total: number; items: { id: string; recipient: { name: string }; sections: { key: string; total: number }[]; deliveries: { channel: string; status: string; lastError: string | null }[] }[] };

      const all = await list("staff");
      expect(all.total).to.equal(6);
      // Each item carries what the document's Digest says it always does.
      for (const d of all.items) expect(d).to.include.all.keys(SCHEMAS.Digest!.required as string[]);
      expect(all.items.map((d) => d.recipient.name)).to.have.members(["市生态环境局", "市水务局", "市住建局", "整改办", "分管副市长", "leader"]);
      const mine = await list("lead");
      expect(mine.items.map((d) => d.id)).to.deep.equal([`digest-2026-03-02-unit-${w.units.lead}`]);
      expect(mine.items[0]!.sections.find((x) => x.key === "overdue")!.total).to.equal(1);
      expect(mine.items[0]!.sections.find((x) => x.key === "sign")!.total).to.equal(1);
      expect(mine.items[0]!.deliveries).to.deep.equal([{ channel: "wecom", status: "sent", attempts: 1, sentAt: "2026-03-02T00:41:00.000Z", waitUntil: null, lastError: null, target: "企业微信机器人" }]);
      const theirs = await list("other");
      expect(theirs.items.map((d) => d.id)).to.deep.equal([`digest-2026-03-02-unit-${w.units.other}`]);
      expect(theirs.items[0]!.deliveries[0]).to.include({ channel: "email", status: "failed", lastError: "未配置 SMTP_URL，无法发送邮件" });
      // Nothing of another unit's digest or cases in a unit's answer, not even through the total.
      const leadText = JSON.stringify(mine);
      for (const mark of ["市住建局", "市水务局", "整改办", "分管副市长", c.other.ledgerNumber, c.otherToSign.ledgerNumber]) expect(leadText).to.not.contain(mark);
      expect(mine.total).to.equal(1);
      expect((await list("leader")).items.map((d) => d.id)).to.deep.equal([`digest-2026-03-02-${own.id}`]);
      expect((await list("staff", "?day=2026-03-03")).total).to.equal(0);
      // Paged as the 台账 and the notices: past the last page, no items and the true total; the page shows its last.
      const past = (await as.staff!.agent.get("/api/digests?pageSize=4&page=3").expect(200)).body;
      expect(past).to.deep.include({ items: [], total: 6, page: 3, pages: 2, pageSize: 4 });
      expect((await list("staff", "?pageSize=4&page=2")).items).to.have.length(2);
      expect((await as.staff!.agent.get("/notices/digests?pageSize=4&page=9").expect(200)).text).to.contain("第 2 / 2 页");
      const bad = await as.staff!.agent.get("/api/digests?day=2026-13-01");
      expect(bad.status).to.equal(422);
      expect(bad.body.error.message).to.contain("参数 day 应为有效日期");

      const page = await as.lead!.agent.get("/notices/digests");
      expect(page.status).to.equal(200);
      expect(page.text).to.contain("市生态环境局（单位）").and.contain("已超期：1").and.contain("企业微信机器人：已发送").and.not.contain("市住建局");
      const office = await as.staff!.agent.get("/notices/digests");
      expect(office.text).to.contain("失败：未配置 SMTP_URL，无法发送邮件").and.contain("市住建局（单位）").and.contain("分管副市长（领导）");
      expect((await as.staff!.agent.get("/notices")).text).to.contain('href="/notices/digests"');
      expect((await as.staff!.agent.get("/notices/digests?day=x")).status).to.equal(422);
    } finally {
      await close();
    }
  });

  it("catches up after the workers were down: late the same working day, once; a working day missed entirely is not sent later", async () => {
    await ledger();
    const clock = new ManualClock();
    expect((await at(clock, "2026-03-02T08:29:00+08:00")).skipped).to.equal("before the digest time");
    expect(await Digest.countDocuments({})).to.equal(0);
    // Down from 08:00 to 11:40: the first pass back sends the morning's digests.
    const back = await at(clock, "2026-03-02T11:40:00+08:00");
    expect(back.issued.length).to.equal(5);
    expect(back.issued[0]!.issuedAt.toISOString()).to.equal("2026-03-02T03:40:00.000Z");
    expect((await at(clock, "2026-03-02T11:41:00+08:00")).issued).to.deep.equal([]);
    // Down all of Tuesday: Wednesday's pass sends Wednesday's, and Tuesday's never.
    const wed = await at(clock, "2026-03-04T09:10:00+08:00");
    expect(wed.issued.map((d) => d.day)).to.deep.equal(Array(5).fill("2026-03-04"));
    expect(await Digest.countDocuments({ day: "2026-03-03" })).to.equal(0);
    const lead = (await digestOf(`unit-${w.units.lead}`, "2026-03-04"))!;
    expect(section(lead, "due").items[0]!.note).to.equal("今日到期");
  });

  it("none on a holiday or a weekend; on the working day after, one, counting working days past the holiday", async () => {
    w.clock.set("2026-03-30T09:00:00+08:00");
    const c = await assign(7, w.units.lead, "2026-04-09");
    const clock = new ManualClock();
    // 清明: Saturday 4 to Monday 6 April 2026.
    for (const day of ["2026-04-04", "2026-04-05", "2026-04-06"]) expect((await at(clock, `${day}T09:00:00+08:00`)).skipped, day).to.equal("not a working day");
    expect(await Digest.countDocuments({})).to.equal(0);
    const tue = await at(clock, "2026-04-07T09:00:00+08:00");
    expect(tue.skipped).to.equal(null);
    const lead = (await digestOf(`unit-${w.units.lead}`, "2026-04-07"))!;
    expect(section(lead, "due").items.map((i) => [i.caseId, i.note])).to.deep.equal([[c._id.toString(), "2026-04-09 到期，还有 2 个工作日"]]);
    expect(section(lead, "sign").total).to.equal(1);
    // A 调休 Saturday is a working day: a digest then too.
    await Digest.deleteMany({});
    expect((await at(clock, "2026-02-28T09:00:00+08:00")).issued.length).to.be.above(0);
  });

  it("sends a notice to robots and SMS at once only from 红色预警 up; a lower one is skipped there for the digest, the inbox and email get it", async () => {
    await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.wecom": { key: WECOM_KEY, mobiles: [] }, "notify.sms": { mobiles: ["13800000001"] }, "notify.emails": ["lead@example.cn"] } });
    const c = await assign(8, w.units.lead, "2026-06-30");
    const channels = (n: { deliveries?: { channel: string; status: string; cancelReason?: string | null }[] }) => Object.fromEntries((n.deliveries ?? []).map((d) => [d.channel, d.status === "skipped" && d.cancelReason ? `skipped: ${d.cancelReason}` : d.status]));
    const yellow = await issueByHand(c, { level: "yellow", requirement: "加快进度" }, w.office, w.clock);
    expect(channels(yellow)).to.deep.equal({ inbox: "sent", email: "pending", webhook: "skipped", wecom: `skipped: ${DIGEST_REASON}`, sms: `skipped: ${DIGEST_REASON}` });
    const red = await issueByHand(c, { level: "red", requirement: "说明超期原因" }, w.office, w.clock);
    expect(channels(red)).to.deep.equal({ inbox: "sent", email: "pending", webhook: "skipped", wecom: "pending", sms: "pending" });
    // A higher level configured: red waits too; the digest off: every level at once.
    setInstantLevel({ DIGEST_TIME: "08:30", DIGEST_INSTANT_LEVEL: "supervision" });
    expect(channels(await issueByHand(c, { level: "red", requirement: "说明超期原因" }, w.office, w.clock)).wecom).to.equal(`skipped: ${DIGEST_REASON}`);
    expect(channels(await issueByHand(c, { level: "supervision", requirement: "督办" }, w.office, w.clock)).wecom).to.equal("pending");
    setInstantLevel({ DIGEST_TIME: "off", DIGEST_INSTANT_LEVEL: "red" });
    expect(channels(await issueByHand(c, { level: "sign_reminder", requirement: "请签收" }, w.office, w.clock))).to.include({ wecom: "pending", sms: "pending" });
  });
});
