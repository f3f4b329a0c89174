/**
 * Group robots (企业微信, 钉钉, 飞书) and SMS (Aliyun dysms) against local fakes that check each
 * provider's signature, body and limits as documented (test/support/fakes.ts), with the real worker,
 * Redis and ledger. Each test has a BullMQ prefix of its own.
 */
import { expect } from "chai";
import { Redis } from "ioredis";
import mongoose from "mongoose";
import type { Config } from "../../src/config.ts";
import { NoticeDelivery, Unit, type CaseDoc } from "../../src/db/models.ts";
import { dingtalkSign, feishuSign, fitBytes, redact } from "../../src/notices/channels.ts";
import { enqueueDeliveries, jobIdOf } from "../../src/notices/delivery.ts";
import { issueByHand, type NoticeRecord } from "../../src/notices/issuer.ts";
import { acs3Signature, segments } from "../../src/notices/sms.ts";
import { DINGTALK_BLOCK_MS, ROBOT_LIMITS, RobotLimiter, robotId } from "../../src/notices/robot-limits.ts";
import { QUEUES, makeQueue, queueConnection } from "../../src/queues.ts";
import { deliveryOptions, type RunningWorker } from "../../src/worker.ts";
import { robotRepeats } from "../../scripts/soak/checks.ts";
import { acs3Expected, busiest, dingtalkExpected, fakeDingtalk, fakeFeishu, fakeSms, fakeWecom, feishuExpected, providerEnv } from "../support/fakes.ts";
import { NEVER, SMS, useChannelWorld } from "../support/channel-world.ts";
import { newInspection, type World } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { AppProcess } from "../support/processes.ts";
import { sleep, until } from "../support/receivers.ts";

const WECOM_KEY = "693a91f6-7f9c-4bc4-97a0-0ec2sifa5aaa";
const DING_TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const DING_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
const FEISHU_HOOK = "0c8a7f1e-2b3d-4e5f-9a8b-7c6d5e4f3a2b";
const FEISHU_SECRET = "qWkR4nV8pL2sT6yZ9cB3";
const MOBILES = ["13800000001", "13900000002"];
/** A provider's template: {name} → ${name}. */
const tpl = (s: string) => s.replace(/\{(\w+)\}/g, (_, k: string) => `\${${k}}`);

describe("robot and SMS channels", () => {
  describe("signatures and limits (pure)", () => {
    it("signs as Aliyun's published ACS3-HMAC-SHA256 example, and the SMS fake verifies that example too", () => {
      // The V3 signature document's fixed-parameter example (RunInstances, empty body).
      const headers = {
        host: "ecs.cn-shanghai.aliyuncs.com",
        "x-acs-action": "RunInstances",
        "x-acs-version": "2014-05-26",
        "x-acs-date": "2023-10-26T10:22:32Z",
        "x-acs-signature-nonce": "3156853299f313e23d1673dc12e1703d",
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      };
      const query = { ImageId: "win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd", RegionId: "cn-shanghai" };
      const published = "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0";
      const ours = acs3Signature({ method: "POST", path: "/", query, headers, body: "" }, "YourAccessKeySecret");
      expect(ours).to.deep.equal({ signature: published, signedHeaders: "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version" });
      expect(acs3Expected("POST", "/", new URLSearchParams(query), headers, ours.signedHeaders, "", "YourAccessKeySecret")).to.equal(published);
      expect(acs3Signature({ method: "POST", path: "/", query, headers, body: "" }, "AnotherSecret").signature).to.not.equal(published);
    });

    it("signs 钉钉 and 飞书 each by its own scheme, which the other's check refuses", () => {
      const ms = 1_733_457_600_123;
      const s = Math.floor(ms / 1000);
      expect(dingtalkSign(DING_SECRET, ms)).to.equal(dingtalkExpected(DING_SECRET, String(ms)));
      expect(feishuSign(FEISHU_SECRET, s)).to.equal(feishuExpected(FEISHU_SECRET, String(s)));
      // The confusion libraries make: 钉钉's scheme (secret as key) over 飞书's seconds is not 飞书's signature.
      expect(dingtalkSign(FEISHU_SECRET, s)).to.not.equal(feishuExpected(FEISHU_SECRET, String(s)));
      expect(feishuSign(DING_SECRET, ms)).to.not.equal(dingtalkExpected(DING_SECRET, String(ms)));
    });

    it("cuts a message over the limit at a UTF-8 character boundary and keeps the link at its end", () => {
      const link = "\n查看全文：https://zgb.example.gov.cn/notices/abc/print";
      for (const max of [200, 201, 202, 203, 2048]) {
        const out = fitBytes("【督办通知】标题\n", "整改要求😀".repeat(400), link, max);
        expect(Buffer.byteLength(out), `max ${max}`).to.be.at.most(max);
        expect(out.endsWith(link), `max ${max}`).to.equal(true);
        expect(out, `max ${max}`).to.not.contain("\uFFFD");
        expect(Buffer.from(out, "utf8").toString("utf8")).to.equal(out);
        expect(out).to.contain("……");
      }
      expect(fitBytes("a", "b", "c", 3)).to.equal("abc");
    });

    it("redacts the caller's IP (v4 and v6) and any secret from a provider's message", () => {
      const m = redact("invalid webhook url, from ip: 203.0.113.7, more info; via 2001:db8::1 key=abcd1234", ["abcd1234"]);
      expect(m).to.equal("invalid webhook url, from ip: *.*.*.*, more info; via *:* key=***");
    });

    it("the soak's robot check lets a message repeat only where a worker was SIGKILLed while sending it", () => {
      const T = Date.parse("2026-03-02T01:00:00Z");
      const lease = 8_000;
      const once = [
        { id: "a", at: T },
        { id: "b", at: T + 100 },
      ];
      expect(robotRepeats(once, [], lease)).to.deep.equal({ explained: [], unexplained: [] });
      // "a" taken, its worker killed 2 s later (before it recorded the send), sent again after the lease.
      const again = [...once, { id: "a", at: T + 11_000 }];
      expect(robotRepeats(again, [T + 2_000], lease).unexplained).to.deep.equal([]);
      expect(robotRepeats(again, [T + 2_000], lease).explained).to.have.length(1);
      // No kill, a kill before the first send, one long after it (the sender had recorded it), or after the repeat: unexplained.
      for (const kills of [[], [T - 1_000], [T + 9_000], [T + 12_000]]) expect(robotRepeats(again, kills, lease).unexplained, JSON.stringify(kills)).to.have.length(1);
      // One kill explains one repeat of a message, not a third acceptance.
      const thrice = [...again, { id: "a", at: T + 20_000 }];
      expect(robotRepeats(thrice, [T + 2_000], lease).unexplained).to.have.length(1);
    });

    it("counts SMS segments with the signature: 70 characters in one, 67 per part beyond", () => {
      const sign = "整改办"; // 【整改办】 is 5 characters
      expect(segments(sign, "字".repeat(65))).to.equal(1);
      expect(segments(sign, "字".repeat(66))).to.equal(2);
      expect(segments(sign, "字".repeat(134 - 5))).to.equal(2);
      expect(segments(sign, "字".repeat(135 - 5))).to.equal(3);
      expect(segments(sign, "a".repeat(66))).to.equal(2);
    });
  });

  describe("delivery", () => {
    const cw = useChannelWorld("ch");
    const { later, serving, configFor, run } = cw;
    let w: World;
    beforeEach(() => {
      w = cw.w;
    });
    const setLead = (notify: Record<string, unknown>) => Unit.updateOne({ _id: w.units.lead }, { $set: Object.fromEntries(Object.entries(notify).map(([k, v]) => [`notify.${k}`, v])) });

    async function assignedCase(): Promise<CaseDoc> {
      const c = await w.service.createCase(newInspection(1), w.office);
      return (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-06-30" } }, w.office)).case;
    }
    const supervise = (c: CaseDoc, requirement = "请于五个工作日内报送整改进展") => issueByHand(c, { level: "supervision", requirement }, w.office, w.clock);
    const delivery = (n: NoticeRecord, channel: string) => NoticeDelivery.findById(`${n._id}:${channel}`).lean();
    /** ms: a child worker process may take 10–30 s to start on a busy machine. */
    const settled = (n: NoticeRecord, channel: string, ms = 15_000) =>
      until(
        `${channel} of ${n._id} to settle`,
        async () => {
          const d = await delivery(n, channel);
          return d && d.status !== "pending" && d;
        },
        ms,
      );
    const queue = (worker: RunningWorker, notices: NoticeRecord[], config: Config) => enqueueDeliveries(worker.deliveryQueue, notices.flatMap((n) => n.deliveries ?? []), deliveryOptions(config));
    /** A producer only (no worker of its own): the jobs go to the child process. */
    async function queueOnly(config: Config, notices: NoticeRecord[]) {
      const connection = queueConnection(process.env.REDIS_URL!);
      const q = makeQueue(QUEUES.delivery, connection, config.QUEUE_PREFIX);
      later(async () => {
        await q.close();
        connection.disconnect();
      });
      await enqueueDeliveries(q, notices.flatMap((n) => n.deliveries ?? []), deliveryOptions(config));
      return q;
    }
    const linkOf = (n: NoticeRecord) => `https://zgb.example.gov.cn/notices/${encodeURIComponent(n._id)}/print`;

    it("企业微信: a text that @-mentions by mobile, cut to 2,048 bytes with the link last; markdown without mentions within 4,096", async function () {
      this.timeout(30_000);
      const wecom = await serving(fakeWecom([WECOM_KEY]));
      await setLead({ wecom: { key: WECOM_KEY, mobiles: MOBILES } });
      const c = await assignedCase();
      const long = await supervise(c, "请逐项核实整改措施落实情况并报送佐证材料。".repeat(150));
      expect(long.deliveries!.find((d) => d.channel === "wecom")!.status).to.equal("pending");
      const config = configFor({ wecom });
      const worker = await run(config);
      await queue(worker, [long], config);
      const d = await settled(long, "wecom");
      expect(d).to.include({ status: "sent", attempts: 1, target: "企业微信机器人（@2 人）" });
      expect(wecom.accepted()).to.have.length(1);
      const text = wecom.accepted()[0]!.json as { msgtype: string; text: { content: string; mentioned_mobile_list: string[] } };
      expect(text.msgtype).to.equal("text");
      expect(text.text.mentioned_mobile_list).to.deep.equal(MOBILES);
      expect(Buffer.byteLength(text.text.content)).to.be.at.most(2048).and.above(1900);
      expect(text.text.content.endsWith(linkOf(long)), "ends with the link").to.equal(true);
      expect(text.text.content).to.contain(long.number!).and.contain("……");

      await setLead({ wecom: { key: WECOM_KEY, mobiles: [] } });
      const plain = await supervise(c, "请逐项核实。".repeat(700));
      await queue(worker, [plain], config);
      expect(await settled(plain, "wecom")).to.include({ status: "sent" });
      const md = wecom.accepted()[1]!.json as { msgtype: string; markdown: { content: string } };
      expect(md.msgtype).to.equal("markdown");
      expect(Buffer.byteLength(md.markdown.content)).to.be.at.most(4096).and.above(3900);
      expect(md.markdown.content.endsWith(`[查看全文](${linkOf(plain)})`)).to.equal(true);
    });

    it("钉钉: 加签 in the query; markdown with each @mobile in its text; an actionCard whose button opens the notice", async function () {
      this.timeout(30_000);
      const ding = await serving(fakeDingtalk({ [DING_TOKEN]: DING_SECRET }));
      await setLead({ dingtalk: { token: DING_TOKEN, secret: DING_SECRET, mobiles: MOBILES } });
      const c = await assignedCase();
      const config = configFor({ dingtalk: ding });
      const worker = await run(config);
      const mentioned = await supervise(c);
      await queue(worker, [mentioned], config);
      expect(await settled(mentioned, "dingtalk")).to.include({ status: "sent", attempts: 1 });
      const md = ding.accepted()[0]!;
      expect(md.json).to.deep.include({ msgtype: "markdown", at: { atMobiles: MOBILES, isAtAll: false } });
      expect(ding.unhighlighted, "every @mobile stands in the text").to.deep.equal([]);
      expect(Number(md.query.get("timestamp"))).to.be.closeTo(Date.now(), 60_000);

      await setLead({ dingtalk: { token: DING_TOKEN, secret: DING_SECRET, mobiles: [] } });
      const card = await supervise(c);
      await queue(worker, [card], config);
      expect(await settled(card, "dingtalk")).to.include({ status: "sent" });
      const ac = ding.accepted()[1]!.json as { msgtype: string; actionCard: { singleURL: string; singleTitle: string; title: string } };
      expect(ac.msgtype).to.equal("actionCard");
      expect(ac.actionCard.singleURL).to.equal(linkOf(card));
      expect(ac.actionCard.title).to.contain(card.number!);
    });

    it("飞书: timestamp in seconds and sign in the body, accepted by a fake that checks 飞书's scheme", async function () {
      this.timeout(30_000);
      const feishu = await serving(fakeFeishu({ [FEISHU_HOOK]: FEISHU_SECRET }));
      await setLead({ feishu: { hook: FEISHU_HOOK, secret: FEISHU_SECRET } });
      const c = await assignedCase();
      const config = configFor({ feishu });
      const worker = await run(config);
      const n = await supervise(c);
      await queue(worker, [n], config);
      expect(await settled(n, "feishu")).to.include({ status: "sent", attempts: 1, target: "飞书机器人" });
      const body = feishu.accepted()[0]!.json as { timestamp: string; msg_type: string; content: { text: string } };
      expect(body.timestamp).to.match(/^\d{10}$/);
      expect(body.content.text.endsWith(linkOf(n))).to.equal(true);
    });

    it("a robot message another worker is still sending (its lease held, its job lock lost) is not sent again: the job waits for the lease", async function () {
      this.timeout(30_000);
      const feishu = await serving(fakeFeishu({ [FEISHU_HOOK]: FEISHU_SECRET }));
      await setLead({ feishu: { hook: FEISHU_HOOK, secret: FEISHU_SECRET } });
      const c = await assignedCase();
      const config = configFor({ feishu });
      const n = await supervise(c);
      // As a worker that took the job before this one and is sending now would have left it.
      await NoticeDelivery.updateOne({ _id: `${n._id}:feishu` }, { $set: { sendingUntil: new Date(Date.now() + 2_000) } });
      const worker = await run(config);
      await queue(worker, [n], config);
      await sleep(1_200);
      expect(feishu.accepted(), "nothing sent while the lease is held").to.have.length(0);
      expect(await delivery(n, "feishu")).to.include({ status: "pending" });
      // The holder died without recording a send: once its lease lapses, the message goes out once.
      expect(await settled(n, "feishu")).to.include({ status: "sent", attempts: 1 });
      expect(feishu.accepted()).to.have.length(1);
    });

    it("a bad key or signature fails at once with the provider's message (the echoed IP redacted); a rate-limit answer is retried", async function () {
      this.timeout(30_000);
      const wecom = await serving(fakeWecom(["another-key-0000"]));
      const ding = await serving(fakeDingtalk({ [DING_TOKEN]: `${DING_SECRET.slice(0, -1)}0` }));
      const feishu = await serving(fakeFeishu({ [FEISHU_HOOK]: "anotherSecret123" }));
      await setLead({ wecom: { key: WECOM_KEY, mobiles: [] }, dingtalk: { token: DING_TOKEN, secret: DING_SECRET, mobiles: [] }, feishu: { hook: FEISHU_HOOK, secret: FEISHU_SECRET } });
      const c = await assignedCase();
      const config = configFor({ wecom, dingtalk: ding, feishu });
      const worker = await run(config);
      const n = await supervise(c);
      await queue(worker, [n], config);
      const [dw, dd, df] = await Promise.all(["wecom", "dingtalk", "feishu"].map((ch) => settled(n, ch)));
      expect(dw).to.include({ status: "failed", attempts: 1 });
      expect(dw!.lastError).to.match(/^企业微信返回 93000：invalid webhook url/).and.not.contain("127.0.0.1");
      expect(dd).to.include({ status: "failed", attempts: 1 });
      expect(dd!.lastError).to.match(/^钉钉返回 310000：sign not match/);
      expect(df).to.include({ status: "failed", attempts: 1 });
      expect(df!.lastError).to.match(/^飞书返回 19021：sign match fail/);
      for (const f of [wecom, ding, feishu]) expect(f.requests).to.have.length(1);
      const job = await worker.deliveryQueue.getJob(jobIdOf(n._id, "wecom"));
      expect(await job!.getState()).to.equal("failed");
      expect(job!.attemptsMade).to.equal(1);

      // Rate-limit answers: retried with backoff, then sent.
      const wecom2 = await serving(fakeWecom([WECOM_KEY]));
      wecom2.force = (i) => (i === 1 ? 45009 : null);
      const feishu2 = await serving(fakeFeishu({ [FEISHU_HOOK]: FEISHU_SECRET }));
      feishu2.force = (i) => (i <= 2 ? (i === 1 ? 11232 : 9499) : null);
      const config2 = configFor({ wecom: wecom2, feishu: feishu2 });
      await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.dingtalk": null } });
      const worker2 = await run(config2);
      const m = await supervise(c);
      await queue(worker2, [m], config2);
      expect(await settled(m, "wecom")).to.include({ status: "sent", attempts: 2 });
      expect(await settled(m, "feishu")).to.include({ status: "sent", attempts: 3 });
      expect(wecom2.accepted()).to.have.length(1);
      expect(feishu2.accepted()).to.have.length(1);
    });

    it("钉钉's 'too fast' holds the robot back for 10 minutes: its deliveries wait, delayed, and do not fail", async function () {
      this.timeout(30_000);
      const ding = await serving(fakeDingtalk({ [DING_TOKEN]: DING_SECRET }));
      ding.force = (i) => (i === 1 ? 130101 : null);
      await setLead({ dingtalk: { token: DING_TOKEN, secret: DING_SECRET, mobiles: [] } });
      const c = await assignedCase();
      const config = configFor({ dingtalk: ding });
      const worker = await run(config);
      const n = await supervise(c);
      await queue(worker, [n], config);
      const d = await until("the delivery to wait", async () => {
        const d = await delivery(n, "dingtalk");
        return d?.waitUntil && d;
      });
      // The first answer counts as an attempt (retried with backoff); the retry then waits out the block.
      expect(d).to.include({ status: "pending", attempts: 1 });
      expect(d.lastError).to.match(/^钉钉返回 130101：send too fast/);
      expect(d.waitUntil!.getTime() - Date.now()).to.be.within(9 * 60_000, 10 * 60_000 + 5_000);
      const job = await worker.deliveryQueue.getJob(jobIdOf(n._id, "dingtalk"));
      expect(await job!.getState()).to.equal("delayed");
      expect(ding.requests).to.have.length(1);
    });

    async function busyWorkers(config: Config, count: number): Promise<RunningWorker[]> {
      const workers: RunningWorker[] = [];
      for (let i = 0; i < count; i++) workers.push(await run(config));
      return workers;
    }

    it("three workers together keep 企业微信's 20 a minute: the rest wait, delayed, none refused", async function () {
      this.timeout(40_000);
      const wecom = await serving(fakeWecom([WECOM_KEY]));
      await setLead({ wecom: { key: WECOM_KEY, mobiles: [] } });
      const c = await assignedCase();
      const config = configFor({ wecom }, { DELIVERY_CONCURRENCY: "5" });
      const [first] = await busyWorkers(config, 3);
      const notices: NoticeRecord[] = [];
      for (let i = 0; i < 26; i++) notices.push(await supervise(c, `第 ${i + 1} 次督办`));
      await queue(first!, notices, config);
      await until("20 sent and 6 waiting", async () => {
        const ds = await NoticeDelivery.find({ channel: "wecom", noticeId: mongoose.trusted({ $in: notices.map((n) => n._id) }) }).lean();
        return ds.filter((d) => d.status === "sent").length === 20 && ds.filter((d) => d.status === "pending" && d.waitUntil).length === 6;
      });
      await sleep(500);
      expect(wecom.accepted()).to.have.length(20);
      expect(wecom.requests.filter((r) => r.code === 45009), "refused for rate").to.have.length(0);
      const states = await Promise.all(notices.map(async (n) => (await first!.deliveryQueue.getJob(jobIdOf(n._id, "wecom")))?.getState()));
      expect(states.filter((s) => s === "delayed")).to.have.length(6);
    });

    it("three workers together keep 飞书's 5 a second; every message arrives, none refused", async function () {
      this.timeout(40_000);
      const feishu = await serving(fakeFeishu({ [FEISHU_HOOK]: FEISHU_SECRET }));
      await setLead({ feishu: { hook: FEISHU_HOOK, secret: FEISHU_SECRET } });
      const c = await assignedCase();
      const config = configFor({ feishu }, { DELIVERY_CONCURRENCY: "5" });
      const [first] = await busyWorkers(config, 3);
      const notices: NoticeRecord[] = [];
      for (let i = 0; i < 13; i++) notices.push(await supervise(c, `第 ${i + 1} 次督办`));
      await queue(first!, notices, config);
      await until("all 13 sent", async () => (await NoticeDelivery.countDocuments({ channel: "feishu", status: "sent", noticeId: mongoose.trusted({ $in: notices.map((n) => n._id) }) })) === 13, 20_000);
      expect(feishu.accepted()).to.have.length(13);
      expect(feishu.requests.filter((r) => r.code !== 0), "refused").to.have.length(0);
      expect(busiest(feishu.requests.map((r) => r.at), 1000)).to.be.at.most(5);
    });

    it("SMS: one signed SendSms from the approved template, parameters within 35 characters, the segments on the delivery", async function () {
      this.timeout(30_000);
      const sms = await serving(fakeSms(SMS));
      await setLead({ sms: { mobiles: MOBILES } });
      const c = await assignedCase();
      const config = configFor({ sms });
      const worker = await run(config);
      const n = await supervise(c);
      expect(n.deliveries!.find((d) => d.channel === "sms")!.status).to.equal("pending");
      await queue(worker, [n], config);
      const d = await settled(n, "sms");
      expect(d).to.include({ status: "sent", attempts: 1 });
      expect(d!.target).to.match(/^短信 138\*\*\*\*0001、139\*\*\*\*0002（每条计 [12] 条）$/);
      const msgs = sms.messages();
      expect(msgs.map((m) => m.phone)).to.deep.equal(MOBILES);
      expect(msgs[0]!.outId).to.equal(`${n._id}:sms`);
      for (const v of Object.values(msgs[0]!.params)) expect([...v].length).to.be.at.most(35);
      expect(msgs[0]!.params.ledger).to.equal(n.number);
    });

    it("SMS: a refusal that sent nothing (flow control) is retried and sends once; a bad template fails at once", async function () {
      this.timeout(30_000);
      const sms = await serving(fakeSms(SMS));
      sms.force = (i) => (i === 1 ? "isv.BUSINESS_LIMIT_CONTROL" : null);
      await setLead({ sms: { mobiles: MOBILES.slice(0, 1) } });
      const c = await assignedCase();
      const config = configFor({ sms });
      const worker = await run(config);
      const n = await supervise(c);
      await queue(worker, [n], config);
      expect(await settled(n, "sms")).to.include({ status: "sent", attempts: 2 });
      expect(sms.messages()).to.have.length(1);

      const bad = await serving(fakeSms({ ...SMS, templates: ["SMS_999"] }));
      const config2 = configFor({ sms: bad });
      const worker2 = await run(config2);
      const m = await supervise(c);
      await queue(worker2, [m], config2);
      const d = await settled(m, "sms");
      expect(d).to.include({ status: "failed", attempts: 1 });
      expect(d!.lastError).to.equal("短信服务返回 isv.SMS_TEMPLATE_ILLEGAL：该账号下找不到对应模板");
    });

    it("SMS: a worker SIGKILLed while the provider is sending; the job taken up again sends no second message", async function () {
      this.timeout(120_000);
      const sms = await serving(fakeSms(SMS));
      await setLead({ sms: { mobiles: MOBILES.slice(0, 1) } });
      const c = await assignedCase();
      const config = configFor({ sms });
      const n = await supervise(c);
      let child: AppProcess | null = null;
      // The provider has the request (and sends); the worker dies before the answer reaches it.
      sms.hold = async () => {
        await until("the child worker", () => child);
        await child!.kill();
      };
      child = await AppProcess.start(
        "worker",
        {
          MONGODB_URI: testDbUri(),
          REDIS_URL: process.env.REDIS_URL!,
          QUEUE_PREFIX: config.QUEUE_PREFIX,
          STALLED_INTERVAL_MS: "1000",
          DELIVERY_BACKOFF_MS: "50",
          SWEEP_CRON: NEVER,
          DEMO_SEED: "0",
          SMS_ENDPOINT: sms.base,
          SMS_ACCESS_KEY_ID: SMS.accessKeyId,
          SMS_ACCESS_KEY_SECRET: SMS.accessKeySecret,
          SMS_SIGN_NAME: SMS.signName,
          SMS_TEMPLATE_CODE: SMS.templates[0]!,
        },
        async () => true,
      );
      later(() => child!.kill());
      await queueOnly(config, [n]);
      await until("the child to be killed mid-send", () => !child!.alive, 60_000);
      sms.hold = null;
      // Another worker takes the stalled job up once its lock expired.
      await run(config);
      const d = await settled(n, "sms");
      expect(d).to.include({ status: "failed" });
      expect(d!.lastError).to.match(/^发送结果不明/);
      expect(d!.lastError).to.contain(`${n._id}:sms`);
      await sleep(1500);
      expect(sms.requests, "requests to the provider").to.have.length(1);
      expect(sms.messages()).to.have.length(1);
    });

    it("发送测试消息 to a 钉钉 robot takes a slot of the shared limit, and its 130101 blocks the robot for the workers as a delivery's does", async function () {
      this.timeout(30_000);
      const ding = await serving(fakeDingtalk({ [DING_TOKEN]: DING_SECRET }));
      await setLead({ dingtalk: { token: DING_TOKEN, secret: DING_SECRET, mobiles: [] } });
      const config = configFor({ dingtalk: ding });
      const app = await cw.app({ DINGTALK_BASE_URL: ding.base, QUEUE_PREFIX: config.QUEUE_PREFIX });
      const admin = await app.signIn("admin");
      const test = () => admin.agent.post(`/api/units/${w.units.lead}/test-message`).set("x-csrf-token", admin.csrf).send({ channel: "dingtalk" });
      // The workers have used 19 of the robot's 20 a minute: the test message takes the last one, a second waits.
      const redis = new Redis(process.env.REDIS_URL!);
      later(() => redis.quit());
      const limiter = new RobotLimiter(redis, config.QUEUE_PREFIX);
      const robot = robotId("dingtalk", DING_TOKEN);
      for (let i = 0; i < 19; i++) expect(await limiter.take(robot, ROBOT_LIMITS.dingtalk, `worker-${i}`)).to.equal(0);
      expect((await test()).body).to.deep.include({ ok: true, answer: "钉钉机器人返回 0：ok" });
      const over = await test();
      expect(over.body.ok).to.equal(false);
      expect(over.body.answer).to.match(/^该机器人发送过于频繁（服务商限额），请 \d+ 秒后再试$/);
      expect(ding.requests).to.have.length(1);
      expect(await limiter.take(robot, ROBOT_LIMITS.dingtalk, "worker-20")).to.be.above(0);

      // A fresh minute (the log cleared), but 钉钉 answers the test "too fast": the robot is blocked 10 minutes for everyone.
      await redis.del(`${config.QUEUE_PREFIX}:robot:${robot}:sends`);
      ding.force = () => 130101;
      const fast = await test();
      expect(fast.body.ok).to.equal(false);
      expect(fast.body.answer).to.match(/^钉钉返回 130101：send too fast/);
      ding.force = () => null;
      const wait = await limiter.take(robot, ROBOT_LIMITS.dingtalk, "worker-21");
      expect(wait).to.be.within(9 * 60_000, DINGTALK_BLOCK_MS);
      // A worker's delivery to that robot waits out the block without a request.
      const worker = await run(config);
      const n = await supervise(await assignedCase());
      await queue(worker, [n], config);
      const d = await until("the delivery to wait", async () => {
        const d = await delivery(n, "dingtalk");
        return d?.waitUntil && d;
      });
      expect(d).to.include({ status: "pending" });
      expect(d.waitUntil!.getTime() - Date.now()).to.be.within(9 * 60_000, DINGTALK_BLOCK_MS + 5_000);
      expect(ding.requests).to.have.length(2);
    });

    it("SMS settings from the admin API: env values as the default; sign, template and AccessKey saved (the secret write-only); bad input refused in Chinese; the test SMS and the worker use what was saved", async function () {
      this.timeout(45_000);
      const ACCOUNT = { accessKeyId: "LTAI5tOfficeSetKeyId", accessKeySecret: "OfficeSetSecretForTheFake00001", signName: "某市整改办", templates: ["SMS_465000002"] };
      const sms = await serving(fakeSms(ACCOUNT));
      // The configuration names the old account; the fake knows only the one the office will save.
      const config = configFor({ sms });
      const app = await cw.app({ SMS_ENDPOINT: sms.base, SMS_ACCESS_KEY_ID: SMS.accessKeyId, SMS_ACCESS_KEY_SECRET: SMS.accessKeySecret, SMS_SIGN_NAME: SMS.signName, SMS_TEMPLATE_CODE: SMS.templates[0]! });
      const admin = await app.signIn("admin");
      const put = (body: object) => admin.agent.put("/api/sms-settings").set("x-csrf-token", admin.csrf).send(body);
      const testSms = (mobile: string) => admin.agent.post("/api/sms-settings/test-message").set("x-csrf-token", admin.csrf).send({ mobile });
      const answers: string[] = [];
      const first = await admin.agent.get("/api/sms-settings");
      answers.push(first.text);
      expect(first.body).to.deep.include({ signName: SMS.signName, templateCode: SMS.templates[0], accessKeyId: SMS.accessKeyId, secretSet: true, configured: true });
      expect(first.body.sample.segments).to.be.a("number");
      // With the configuration's account the fake refuses: the provider's answer is shown.
      const before = await testSms(MOBILES[0]!);
      expect(before.body).to.deep.include({ ok: false, answer: "短信服务返回 InvalidAccessKeyId.NotFound：Specified access key is not found." });

      const valid = { signName: ACCOUNT.signName, templateCode: ACCOUNT.templates[0], templateText: tpl("{unit}收到{level}（{ledger}）：{title}，期限{deadline}。请登录https://zgb.example.gov.cn处理。"), accessKeyId: ACCOUNT.accessKeyId, accessKeySecret: ACCOUNT.accessKeySecret };
      const refusals: [object, string][] = [
        [{ ...valid, templateCode: "465000002" }, "模板 CODE 形如 SMS_465000001"],
        [{ ...valid, signName: "【某市整改办】" }, "短信签名不带【】"],
        [{ ...valid, signName: "整" }, "短信签名应为 2–12 个字"],
        [{ ...valid, signName: "某市生态环境保护督察整改办公室" }, "短信签名应为 2–12 个字"],
        [{ ...valid, templateText: tpl("请查看{url}") }, tpl("模板中的变量 {url} 不是系统提供的变量")],
        [{ ...valid, accessKeySecret: "short" }, "AccessKey Secret 应为 16–64 位字母和数字"],
        [{ ...valid, extra: 1 }, "不支持的字段"],
      ];
      for (const [body, message] of refusals) {
        const r = await put(body);
        expect(r.status, message).to.equal(422);
        expect(r.body.error.message, message).to.contain(message);
      }
      expect((await admin.agent.get("/api/sms-settings")).body).to.deep.include({ signName: SMS.signName, templateCode: SMS.templates[0] });
      for (const who of ["staff", "leader", "lead"]) {
        const s = await app.signIn(who);
        expect((await s.agent.get("/api/sms-settings")).status, who).to.equal(403);
        expect((await s.agent.put("/api/sms-settings").set("x-csrf-token", s.csrf).send(valid)).status, who).to.equal(403);
        expect((await s.agent.post("/api/sms-settings/test-message").set("x-csrf-token", s.csrf).send({ mobile: MOBILES[0] })).status, who).to.equal(403);
      }

      const saved = await put(valid);
      answers.push(saved.text);
      expect(saved.status).to.equal(200);
      expect(saved.body).to.deep.include({ signName: ACCOUNT.signName, templateCode: ACCOUNT.templates[0], accessKeyId: ACCOUNT.accessKeyId, secretSet: true });
      expect(saved.body).to.not.have.property("accessKeySecret");
      // 【某市整改办】 and the example filled: more than 70 characters, so 2 billed messages.
      expect(saved.body.sample.chars).to.be.above(70);
      expect(saved.body.sample.segments).to.equal(Math.ceil(saved.body.sample.chars / 67));
      // The secret left out is kept.
      const text = await put({ ...valid, accessKeySecret: undefined, templateText: tpl("{unit}：{level}，{ledger}。") });
      expect(text.body.sample.segments).to.equal(1);
      const sent = await testSms(MOBILES[0]!);
      answers.push(sent.text);
      expect(sent.body, JSON.stringify(sent.body)).to.deep.include({ ok: true, answer: "短信服务返回 OK：OK" });
      expect(sent.body.target).to.equal("短信 138****0001（每条计 1 条）");
      expect(sms.accepted()[0]!.query.get("SignName")).to.equal(ACCOUNT.signName);
      expect((await testSms("1380000")).status).to.equal(422);

      // The worker signs a notice's SMS with the saved account (the fake knows no other).
      await setLead({ sms: { mobiles: MOBILES } });
      const worker = await run(config);
      const n = await supervise(await assignedCase());
      await queue(worker, [n], config);
      expect(await settled(n, "sms")).to.include({ status: "sent" });
      expect(sms.messages().map((m) => m.phone)).to.deep.equal([MOBILES[0], ...MOBILES]);
      for (const a of answers) for (const secret of [ACCOUNT.accessKeySecret, SMS.accessKeySecret]) expect(a).to.not.contain(secret);
    });

    it("keys and secrets are write-only: set through the API, never in its answers, a page or the worker's log", async function () {
      this.timeout(120_000);
      const admin = await (await cw.app()).signIn("admin");
      const patch = (body: object) => admin.agent.patch(`/api/units/${w.units.lead}`).set("x-csrf-token", admin.csrf).send(body);
      // A robot without its key is refused, in Chinese, and changes nothing.
      const refused = await patch({ notify: { dingtalk: { token: DING_TOKEN } } });
      expect(refused.status).to.equal(422);
      expect(refused.body.error.message).to.equal("请填写钉钉机器人 access_token 和加签密钥");
      const set = await patch({ notify: { wecom: { key: WECOM_KEY, mobiles: MOBILES }, dingtalk: { token: DING_TOKEN, secret: DING_SECRET }, feishu: { hook: FEISHU_HOOK, secret: FEISHU_SECRET }, sms: { mobiles: MOBILES } } });
      expect(set.status).to.equal(200);
      expect(set.body.notify).to.deep.include({ wecom: { keySet: true, mobiles: MOBILES }, feishu: { hookSet: true, secretSet: true } });
      // Mentions change without the key being sent again: the key stays.
      const mentions = await patch({ notify: { wecom: { mobiles: ["13700000003"] } } });
      expect(mentions.body.notify.wecom).to.deep.equal({ keySet: true, mobiles: ["13700000003"] });
      expect((await Unit.findById(w.units.lead).lean())!.notify!.wecom!.key).to.equal(WECOM_KEY);
      // Another notify field alone leaves the robots and the webhook as they were; null removes one robot.
      await patch({ notify: { webhookUrl: "https://hook.example.gov.cn/rectiflow", webhookSecret: "0123456789abcdef0123" } });
      const emails = await patch({ notify: { emails: ["lead@unit.example"] } });
      expect(emails.body.notify).to.deep.include({ emails: ["lead@unit.example"], webhookUrl: "https://hook.example.gov.cn/rectiflow", webhookSecretSet: true });
      expect(emails.body.notify.dingtalk).to.deep.equal({ tokenSet: true, secretSet: true, mobiles: [] });
      const removed = await patch({ notify: { sms: null } });
      expect(removed.body.notify.sms).to.equal(null);
      await patch({ notify: { sms: { mobiles: MOBILES } } });

      // The providers refuse (wrong keys everywhere): failures are logged and shown.
      const wecom = await serving(fakeWecom(["other-key-00000"]));
      const ding = await serving(fakeDingtalk({ [DING_TOKEN]: "SECwrong0000000000000000" }));
      const feishu = await serving(fakeFeishu({}));
      const sms = await serving(fakeSms({ ...SMS, accessKeySecret: "NotTheSecret0000000000" }));
      const config = configFor({ wecom, dingtalk: ding, feishu, sms });
      const child = await AppProcess.start(
        "worker",
        {
          MONGODB_URI: testDbUri(),
          REDIS_URL: process.env.REDIS_URL!,
          QUEUE_PREFIX: config.QUEUE_PREFIX,
          DELIVERY_BACKOFF_MS: "50",
          SWEEP_CRON: NEVER,
          DEMO_SEED: "0",
          LOG_LEVEL: "debug",
          ...providerEnv({ wecom, dingtalk: ding, feishu, sms }, SMS),
        },
        async () => true,
      );
      later(() => child.kill());
      const c = await assignedCase();
      const n = await supervise(c);
      await queueOnly(config, [n]);
      for (const ch of ["wecom", "dingtalk", "feishu", "sms"]) expect(await settled(n, ch, 60_000), ch).to.include({ status: "failed" });
      await sleep(300);
      const answers = [
        JSON.stringify(set.body),
        JSON.stringify((await admin.agent.get("/api/units")).body),
        JSON.stringify((await admin.agent.get(`/api/notices/${encodeURIComponent(n._id)}`)).body),
        JSON.stringify((await admin.agent.get(`/api/cases/${c._id}/notices`)).body),
        (await admin.agent.get("/admin/units")).text,
        (await admin.agent.get("/admin/queues")).text,
      ];
      const logs = child.log();
      expect(logs, "the worker logged the failures").to.match(/job failed/);
      expect(answers.join("")).to.contain("企业微信返回 93000");
      for (const secret of [WECOM_KEY, DING_TOKEN, DING_SECRET, FEISHU_HOOK, FEISHU_SECRET, SMS.accessKeySecret]) {
        for (const [i, a] of answers.entries()) expect(a.includes(secret), `answer ${i} shows ${secret}`).to.equal(false);
        expect(logs.includes(secret), `the log shows ${secret}`).to.equal(false);
      }
    });
  });
});
