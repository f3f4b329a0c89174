/**
 * Who each rung reaches (src/notices/recipients.ts): the unit head @-mentioned on the unit's robot and
 * texted, the office's and leaders' own robots and SMS, "未配置接收渠道" where a named recipient has
 * none; the admin's API for the office and leaders, 发送测试消息 against the local fakes, and who may
 * see contacts. Real worker, Redis and ledger; each test has a BullMQ prefix of its own.
 */
import { expect } from "chai";
import { DEFAULT_RULES } from "../../workflows/index.ts";
import type { Config } from "../../src/config.ts";
import { NoticeDelivery, Unit, type CaseDoc } from "../../src/db/models.ts";
import { createLeader, updateAddressee } from "../../src/notices/addressees.ts";
import { feishuSign } from "../../src/notices/channels.ts";
import { enqueueDeliveries } from "../../src/notices/delivery.ts";
import { deliveryIdOf, issueByHand, issueMany, ruleIssue, type NoticeRecord } from "../../src/notices/issuer.ts";
import { NO_CHANNEL, resolveRecipients } from "../../src/notices/recipients.ts";
import { deliveryOptions, type RunningWorker } from "../../src/worker.ts";
import { fakeDingtalk, fakeFeishu, fakeSms, fakeWecom, providerEnv } from "../support/fakes.ts";
import { SMS, useChannelWorld } from "../support/channel-world.ts";
import { newInspection, type World } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";
import { makeUsers, signIn } from "../support/http.ts";
import { AppProcess, freePort } from "../support/processes.ts";
import { freshPrefix, until } from "../support/receivers.ts";

const UNIT_KEY = "unit-robot-key-0001";
const OFFICE_TOKEN = "b1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const OFFICE_SECRET = "SECb123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
const LEADER_HOOK = "1c8a7f1e-2b3d-4e5f-9a8b-7c6d5e4f3a2b";
const LEADER_SECRET = "lEaDeRsEcReT12345678";
const HEAD = { name: "王局长", title: "局长", role: "head" as const, mobile: "13711110001" };
const LIAISON = { name: "李联络", role: "liaison" as const, mobile: "13711110002" };
const LEADER_MOBILE = "13911110009";

describe("recipients: people, not only units", () => {
  const cw = useChannelWorld("rcp");
  const { later, serving, run } = cw;
  const configFor = (f: Parameters<typeof cw.configFor>[0]) => cw.configFor(f, { DELIVERY_ATTEMPTS: "3" });
  let w: World;
  beforeEach(() => {
    w = cw.w;
  });
  const deliver = (worker: RunningWorker, config: Config, n: NoticeRecord) => enqueueDeliveries(worker.deliveryQueue, n.deliveries ?? [], deliveryOptions(config));
  const settled = (id: string, ms = 15_000) =>
    until(
      `${id} to settle`,
      async () => {
        const d = await NoticeDelivery.findById(id).lean();
        return d && d.status !== "pending" && d;
      },
      ms,
    );
  async function assignedCase(n = 1): Promise<CaseDoc> {
    const c = await w.service.createCase(newInspection(n), w.office);
    return (await w.service.applyEvent(c._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-06-30" } }, w.office)).case;
  }
  const setLead = (set: Record<string, unknown>) => Unit.updateOne({ _id: w.units.lead }, { $set: set });
  /** The rung as the sweep issues it (holder: the unit). */
  const rung = (c: CaseDoc, id: string) => issueMany([ruleIssue(c, { rule: DEFAULT_RULES.find((r) => r.id === id)!, at: w.clock.now(), holder: "unit" } as never)], w.clock.now());

  it("a 督办通知 @-mentions the unit head on the unit's robot and texts them; the office's robot and the leader's robot and phone get it too", async function () {
    this.timeout(45_000);
    const wecom = await serving(fakeWecom([UNIT_KEY]));
    const ding = await serving(fakeDingtalk({ [OFFICE_TOKEN]: OFFICE_SECRET }));
    const feishu = await serving(fakeFeishu({ [LEADER_HOOK]: LEADER_SECRET }));
    const sms = await serving(fakeSms(SMS));
    await setLead({ contacts: [HEAD, LIAISON], "notify.wecom": { key: UNIT_KEY, mobiles: [] } });
    await updateAddressee("office", { notify: { dingtalk: { token: OFFICE_TOKEN, secret: OFFICE_SECRET } } });
    const leader = await createLeader({ name: "赵副市长", title: "副市长", contacts: [{ name: "赵副市长", role: "leader", mobile: LEADER_MOBILE }], notify: { feishu: { hook: LEADER_HOOK, secret: LEADER_SECRET } } });
    const c = await assignedCase();
    const [n] = await rung(c, "inspection.supervision");
    expect(n!.reach!.map((r) => [r.recipient, r.missing])).to.deep.equal([
      ["unit_head", null],
      ["office", null],
      ["leader", null],
    ]);
    const ids = n!.deliveries!.filter((d) => d.status === "pending").map((d) => d.channel + ((d as { recipient?: string }).recipient ? `@${(d as { recipient?: string }).recipient}` : ""));
    expect(ids).to.have.members(["wecom", "sms", "dingtalk@office", `feishu@${leader.id}`, `sms@${leader.id}`]);

    const config = configFor({ wecom, dingtalk: ding, feishu, sms });
    const worker = await run(config);
    await deliver(worker, config, n!);
    expect(await settled(deliveryIdOf(n!._id, "wecom"))).to.include({ status: "sent", target: "企业微信机器人（@1 人）" });
    expect(await settled(deliveryIdOf(n!._id, "sms"))).to.include({ status: "sent" });
    expect(await settled(deliveryIdOf(n!._id, "dingtalk", "office"))).to.include({ status: "sent" });
    expect((await settled(deliveryIdOf(n!._id, "feishu", leader.id)))!.target).to.equal("飞书机器人（副市长 赵副市长）");
    expect(await settled(deliveryIdOf(n!._id, "sms", leader.id))).to.include({ status: "sent" });
    // The head, not the liaison, is the one @-mentioned and texted for a 督办.
    const text = wecom.accepted()[0]!.json as { msgtype: string; text: { mentioned_mobile_list: string[] } };
    expect(text.msgtype).to.equal("text");
    expect(text.text.mentioned_mobile_list).to.deep.equal([HEAD.mobile]);
    expect(sms.messages().map((m) => m.phone)).to.have.members([HEAD.mobile, LEADER_MOBILE]);
    expect(ding.accepted()).to.have.length(1);
    expect(feishu.accepted()).to.have.length(1);
  });

  it("飞书 @-mentions a person by open_id (<at user_id=\"ou_…\">name</at>), names one without an open_id plainly, and refuses a malformed open_id", async function () {
    this.timeout(45_000);
    const UNIT_HOOK = "2c8a7f1e-2b3d-4e5f-9a8b-7c6d5e4f3a2b";
    const feishu = await serving(fakeFeishu({ [UNIT_HOOK]: LEADER_SECRET, [LEADER_HOOK]: LEADER_SECRET }));
    const openId = "ou_5ad573a6411d72b8305fda3a9c15c70e";
    // The head has an open_id (and no mobile): reached in person on the unit's 飞书 robot.
    await setLead({ contacts: [{ name: "王局长", role: "head", feishuId: openId }, LIAISON], "notify.feishu": { hook: UNIT_HOOK, secret: LEADER_SECRET } });
    const leader = await createLeader({ name: "赵副市长", title: "副市长", contacts: [{ name: "赵副市长", role: "leader", mobile: LEADER_MOBILE }], notify: { feishu: { hook: LEADER_HOOK, secret: LEADER_SECRET } } });
    const [n] = await rung(await assignedCase(), "inspection.supervision");
    expect(n!.reach!.find((r) => r.recipient === "unit_head")!.missing).to.equal(null);
    const config = configFor({ feishu });
    const worker = await run(config);
    await deliver(worker, config, n!);
    expect(await settled(deliveryIdOf(n!._id, "feishu"))).to.include({ status: "sent", target: "飞书机器人（@1 人）" });
    expect(await settled(deliveryIdOf(n!._id, "feishu", leader.id))).to.include({ status: "sent" });
    expect(feishu.mentioned).to.deep.equal([openId]);
    const texts = feishu.accepted().map((r) => (r.json as { content: { text: string } }).content.text);
    const unitText = texts.find((t) => t.includes("<at "))!;
    expect(unitText).to.contain(`<at user_id="${openId}">王局长</at>`).and.not.contain("李联络");
    // The leader has no open_id: named plainly, no tag.
    const leaderText = texts.find((t) => !t.includes("<at "))!;
    expect(leaderText.split("\n")[1]).to.equal("赵副市长");

    // A malformed open_id is refused in Chinese and changes nothing.
    const app = await cw.app();
    const admin = await app.signIn("admin");
    const bad = await admin.agent.patch(`/api/units/${w.units.lead}`).set("x-csrf-token", admin.csrf).send({ contacts: [{ name: "王局长", role: "head", feishuId: "13711110001" }] });
    expect(bad.status).to.equal(422);
    expect(bad.body.error.message).to.contain("飞书 open_id 应为 ou_ 加 32 位");
    expect((await Unit.findById(w.units.lead).lean())!.contacts[0]!.feishuId).to.equal(openId);
    const shown = await admin.agent.get("/api/units");
    expect(JSON.stringify(shown.body)).to.contain(openId);
    // The fake itself refuses a mention of another shape (a mobile in the tag), as 飞书 would not @ anyone by it.
    const ts = Math.floor(Date.now() / 1000);
    const byMobile = await fetch(`${feishu.base}/open-apis/bot/v2/hook/${UNIT_HOOK}`, { method: "POST", body: JSON.stringify({ timestamp: String(ts), sign: feishuSign(LEADER_SECRET, ts), msg_type: "text", content: { text: '<at user_id="13711110001">王局长</at> 请处理' } }) });
    expect(((await byMobile.json()) as { code: number }).code).to.equal(19002);
  });

  it("约谈/通报 reaches the leaders over the unit (their robot), not the unit; with no leader it records 未配置接收渠道", async function () {
    this.timeout(45_000);
    const c = await assignedCase();
    const [none] = await rung(c, "inspection.escalation");
    expect(none!.reach).to.have.length(1);
    expect(none!.reach![0]).to.include({ recipient: "leader" });
    expect(none!.reach![0]!.missing).to.equal(`${NO_CHANNEL}（未登记领导）`);
    expect(none!.deliveries!.filter((d) => d.status === "pending")).to.deep.equal([]);

    const wecom = await serving(fakeWecom([UNIT_KEY]));
    // One leader over the case's unit, one over another unit only: only the first is reached.
    const over = await createLeader({ name: "钱副市长", unitIds: [w.units.lead], notify: { wecom: { key: UNIT_KEY, mobiles: ["13911110001"] } } });
    await createLeader({ name: "孙副市长", unitIds: [w.units.other], notify: { emails: ["sun@gov.example"] } });
    const c2 = await assignedCase(2);
    const [n] = await rung(c2, "inspection.escalation");
    expect(n!.reach!.map((r) => r.name)).to.deep.equal(["钱副市长"]);
    const pending = n!.deliveries!.filter((d) => d.status === "pending");
    expect(pending.map((d) => deliveryIdOf(d.noticeId, d.channel, (d as { recipient?: string }).recipient))).to.deep.equal([deliveryIdOf(n!._id, "wecom", over.id)]);
    const config = configFor({ wecom });
    const worker = await run(config);
    await deliver(worker, config, n!);
    expect(await settled(deliveryIdOf(n!._id, "wecom", over.id))).to.include({ status: "sent" });
    expect((wecom.accepted()[0]!.json as { text: { mentioned_mobile_list: string[] } }).text.mentioned_mobile_list).to.deep.equal(["13911110001"]);
  });

  it("a 督办 whose unit has no head on record says so: the notice, its page and the API show 未配置接收渠道", async function () {
    this.timeout(30_000);
    const c = await assignedCase();
    await setLead({ contacts: [LIAISON] });
    const n = await issueByHand(c, { level: "supervision", requirement: "请于五个工作日内报送整改进展" }, w.office, w.clock);
    const head = n.reach!.find((r) => r.recipient === "unit_head")!;
    expect(head.missing).to.equal(`${NO_CHANNEL}（未登记单位主要负责人）`);
    expect(n.reach!.find((r) => r.recipient === "leader")!.missing).to.equal(`${NO_CHANNEL}（未登记领导）`);
    // The head is registered without a mobile: still not reached in person.
    await setLead({ contacts: [{ ...HEAD, mobile: undefined }] });
    expect((await resolveRecipients(["unit_head"], { unitId: w.units.lead }))[0]!.missing).to.equal(`${NO_CHANNEL}（负责人未登记手机号）`);

    const app = await cw.app();
    const staff = await app.signIn("staff");
    const api = await staff.agent.get(`/api/notices/${encodeURIComponent(n._id)}`);
    expect(api.status).to.equal(200);
    expect(api.body.reach.map((r: { missing: string | null }) => r.missing)).to.include(`${NO_CHANNEL}（未登记单位主要负责人）`);
    const page = await staff.agent.get("/notices");
    expect(page.text).to.contain("责任单位主要负责人（市生态环境局）：未配置接收渠道（未登记单位主要负责人）");
    // The unit sees how the notice reached it and its head, not the office's or the leaders' channels and people.
    const lead = await app.signIn("lead");
    const own = (await lead.agent.get(`/api/notices/${encodeURIComponent(n._id)}`).expect(200)).body;
    expect(own.reach.map((r: { recipient: string }) => r.recipient)).to.deep.equal(["unit_head"]);
    expect(Object.keys(own.deliveries).filter((k) => k.includes("@"))).to.deep.equal([]);
    const unitPage = await lead.agent.get("/notices").expect(200);
    expect(unitPage.text).to.contain("未登记单位主要负责人").and.not.contain("未登记领导");
  });

  it("发送测试消息 goes through the adapter and shows the provider's answer: success, and a permanent error in the provider's words", async function () {
    this.timeout(30_000);
    const wecom = await serving(fakeWecom([UNIT_KEY]));
    const ding = await serving(fakeDingtalk({ [OFFICE_TOKEN]: `${OFFICE_SECRET.slice(0, -1)}0` }));
    const sms = await serving(fakeSms(SMS));
    const config = configFor({ wecom, dingtalk: ding, sms });
    const app = await cw.app({ ...providerEnv({ wecom, dingtalk: ding, sms }, SMS), QUEUE_PREFIX: config.QUEUE_PREFIX });
    const admin = await app.signIn("admin");
    const post = (path: string, body: object) => admin.agent.post(path).set("x-csrf-token", admin.csrf).send(body);
    await admin.agent.patch(`/api/units/${w.units.lead}`).set("x-csrf-token", admin.csrf).send({ contacts: [HEAD], notify: { wecom: { key: UNIT_KEY } } });
    const ok = await post(`/api/units/${w.units.lead}/test-message`, { channel: "wecom" });
    expect(ok.status).to.equal(200);
    expect(ok.body).to.deep.include({ ok: true, channel: "wecom", answer: "企业微信机器人返回 0：ok" });
    expect((wecom.accepted()[0]!.json as { markdown: { content: string } }).markdown.content).to.contain("测试消息").and.contain("市生态环境局");
    const text = await post(`/api/units/${w.units.lead}/test-message`, { channel: "sms" });
    expect(text.body, JSON.stringify(text.body)).to.deep.include({ ok: true, answer: "短信服务返回 OK：OK" });
    expect(text.body.target).to.contain("137****0001");
    expect(sms.messages().map((m) => m.phone)).to.deep.equal([HEAD.mobile]);

    const office = await admin.agent.patch("/api/addressees/office").set("x-csrf-token", admin.csrf).send({ notify: { dingtalk: { token: OFFICE_TOKEN, secret: OFFICE_SECRET } } });
    expect(office.status).to.equal(200);
    expect(office.body.notify.dingtalk).to.deep.equal({ tokenSet: true, secretSet: true, mobiles: [] });
    const bad = await post("/api/addressees/office/test-message", { channel: "dingtalk" });
    expect(bad.body.ok).to.equal(false);
    expect(bad.body.answer).to.match(/^钉钉返回 310000：/);
    const missing = await post("/api/addressees/office/test-message", { channel: "feishu" });
    expect(missing.body).to.deep.include({ ok: false, answer: "未配置飞书机器人" });
    const unknownChannel = await post("/api/addressees/office/test-message", { channel: "fax" });
    expect(unknownChannel.status).to.equal(422);
    expect(unknownChannel.body.error.message).to.contain("渠道应为");
    expect((await post("/api/addressees/leader-000000000000/test-message", { channel: "wecom" })).status).to.equal(404);
    for (const a of [ok, text, office, bad, missing]) for (const s of [UNIT_KEY, OFFICE_TOKEN, OFFICE_SECRET, SMS.accessKeySecret]) expect(JSON.stringify(a.body)).to.not.contain(s);
  });

  it("only the admin edits channels and contacts; a unit never sees another unit's contacts; bad input is refused in Chinese and changes nothing", async function () {
    this.timeout(30_000);
    const app = await cw.app();
    const admin = await app.signIn("admin");
    await admin.agent.patch(`/api/units/${w.units.other}`).set("x-csrf-token", admin.csrf).send({ contacts: [{ ...HEAD, mobile: "13722220001" }] });
    for (const who of ["staff", "leader", "lead"]) {
      const s = await app.signIn(who);
      expect((await s.agent.get("/api/addressees")).status, who).to.equal(403);
      expect((await s.agent.patch("/api/addressees/office").set("x-csrf-token", s.csrf).send({ name: "x" })).status, who).to.equal(403);
      expect((await s.agent.post("/api/addressees").set("x-csrf-token", s.csrf).send({ name: "x" })).status, who).to.equal(403);
      expect((await s.agent.post(`/api/units/${w.units.lead}/test-message`).set("x-csrf-token", s.csrf).send({ channel: "wecom" })).status, who).to.equal(403);
      const units = await s.agent.get("/api/units");
      expect(JSON.stringify(units.body), who).to.not.contain("13722220001");
      for (const path of ["/admin/channels", `/admin/channels/${w.units.other}`]) expect((await s.agent.get(path)).status, `${who} ${path}`).to.equal(403);
    }
    const bad = await admin.agent.post("/api/addressees").set("x-csrf-token", admin.csrf).send({ name: "周副市长", contacts: [{ name: "周副市长", mobile: "12345" }] });
    expect(bad.status).to.equal(422);
    expect(bad.body.error.message).to.contain("手机号应为 11 位数字");
    const badUnit = await admin.agent.post("/api/addressees").set("x-csrf-token", admin.csrf).send({ name: "周副市长", unitIds: ["0123456789abcdef01234567"] });
    expect(badUnit.status).to.equal(422);
    expect((await admin.agent.get("/api/addressees")).body.items.map((a: { id: string }) => a.id)).to.deep.equal(["office"]);
    const made = await admin.agent.post("/api/addressees").set("x-csrf-token", admin.csrf).send({ name: "周副市长", contacts: [{ name: "周副市长", role: "leader", mobile: LEADER_MOBILE }] });
    expect(made.status).to.equal(201);
    expect((await admin.agent.post(`/api/addressees/${made.body.id}/remove`).set("x-csrf-token", admin.csrf).send({})).status).to.equal(200);
    expect((await admin.agent.post("/api/addressees/office/remove").set("x-csrf-token", admin.csrf).send({})).status).to.equal(404);
  });

  it("no key or secret in an answer, a page or the web process's log", async function () {
    this.timeout(90_000);
    const wecom = await serving(fakeWecom([UNIT_KEY]));
    const feishu = await serving(fakeFeishu({ [LEADER_HOOK]: "notTheSecret1234" }));
    await makeUsers(w);
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const web = await AppProcess.start(
      "web",
      { MONGODB_URI: testDbUri(), REDIS_URL: process.env.REDIS_URL!, PORT: String(port), DEMO_SEED: "0", LOG_LEVEL: "debug", SESSION_SECRET: "s".repeat(40), WECOM_BASE_URL: wecom.base, FEISHU_BASE_URL: feishu.base, QUEUE_PREFIX: freshPrefix("rcp") },
      async () => (await fetch(`${base}/healthz`)).ok,
    );
    later(() => web.kill());
    const admin = await signIn(base as never, "admin");
    const send = (method: "patch" | "post" | "put", path: string, body: object) => admin.agent[method](path).set("x-csrf-token", admin.csrf).send(body);
    const answers: string[] = [];
    const keep = <R extends { text: string }>(r: R): R => {
      answers.push(r.text);
      return r;
    };
    keep(await send("patch", `/api/units/${w.units.lead}`, { notify: { wecom: { key: UNIT_KEY } } }));
    const leader = keep(await send("post", "/api/addressees", { name: "吴副市长", notify: { feishu: { hook: LEADER_HOOK, secret: LEADER_SECRET } } }));
    const id = JSON.parse(leader.text).id as string;
    expect(JSON.parse(keep(await send("post", `/api/units/${w.units.lead}/test-message`, { channel: "wecom" })).text).ok).to.equal(true);
    expect(JSON.parse(keep(await send("post", `/api/addressees/${id}/test-message`, { channel: "feishu" })).text).answer).to.match(/^飞书返回 19021/);
    const SMS_SECRET = "WebLogSmsSecret00000000000001";
    const sms = keep(await send("put", "/api/sms-settings", { signName: "某市整改办", templateCode: "SMS_465000001", templateText: "请登录整改系统查看新的通知。", accessKeyId: "LTAI5tWebLogKeyId001", accessKeySecret: SMS_SECRET }));
    expect(sms.status).to.equal(200);
    keep(await admin.agent.get("/api/sms-settings"));
    keep(await admin.agent.get("/admin/channels/sms"));
    keep(await admin.agent.post("/admin/channels/sms").type("form").send({ _csrf: admin.csrf, signName: "某市整改办", templateCode: "bad", templateText: "请登录整改系统查看新的通知。", accessKeySecret: SMS_SECRET }));
    keep(await admin.agent.get("/api/addressees"));
    keep(await admin.agent.get("/api/units"));
    keep(await admin.agent.get("/admin/channels"));
    keep(await admin.agent.get(`/admin/channels/${id}`));
    keep(await admin.agent.get(`/admin/channels/${w.units.lead}`));
    const logs = web.log();
    expect(logs).to.match(/test-message/);
    for (const secret of [UNIT_KEY, LEADER_HOOK, LEADER_SECRET, SMS_SECRET]) {
      for (const [i, a] of answers.entries()) expect(a.includes(secret), `answer ${i} shows ${secret}`).to.equal(false);
      expect(logs.includes(secret), `the log shows ${secret}`).to.equal(false);
    }
  });
});
