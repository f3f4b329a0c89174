/**
 * 管理 › 接收渠道 against the real app: a unit's head and robot saved from the form (the key
 * write-only), a refused mobile kept in the form with nothing written, leaders added with their units,
 * 发送测试消息 showing the fake provider's answer, the SMS segment count, and the notices page's
 * per-channel state (sent, waiting for a robot's limit, failed with the reason, 未配置接收渠道).
 */
import { expect } from "chai";
import { Addressee, NoticeDelivery, Unit } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { deliveryIdOf } from "../../src/notices/issuer.ts";
import { fakeSms, fakeWecom, type Fake } from "../support/fakes.ts";
import { useApp, type Client } from "../support/app.ts";
import { newInspection, type World } from "../support/fixtures.ts";
import { signIn, testApp } from "../support/http.ts";

const KEY = "page-robot-key-0001";

describe("管理 › 接收渠道 and the notices page's channels", function () {
  this.timeout(60_000);
  let wecom: Fake;
  const t = useApp({
    users: ["admin"],
    setup: async () => {
      wecom = await fakeWecom([KEY]);
    },
    env: () => ({ WECOM_BASE_URL: wecom.base, SMS_SIGN_NAME: "某市整改办" }),
  });
  let w: World;
  let admin: Client;
  beforeEach(() => {
    ({ w, as: { admin } } = t);
  });
  // After the app's close (useApp's hook is registered first).
  afterEach(() => wecom.close());
  const post = (url: string, form: Record<string, string | string[]>) => admin.form(url, form);

  it("saves a unit's head and robot from the form; the key is never shown again; 发送测试消息 shows the provider's answer", async () => {
    const url = `/admin/channels/${w.units.lead}`;
    const saved = await post(url, { c_name_0: "王局长", c_title_0: "局长", c_role_0: "head", c_mobile_0: "13711110001", wecom_key: KEY, wecom_mobiles: "" });
    expect(saved.status, saved.text.slice(0, 300)).to.equal(303);
    const unit = (await Unit.findById(w.units.lead).lean())!;
    expect(unit.contacts).to.deep.equal([{ name: "王局长", title: "局长", role: "head", mobile: "13711110001" }]);
    expect(unit.notify!.wecom).to.deep.include({ key: KEY });
    const page = await admin.agent.get(url);
    expect(page.text).to.contain("已设置，留空不变").and.contain('value="13711110001"').and.not.contain(KEY);
    // Mentions saved again without the key: the key stays.
    expect((await post(url, { c_name_0: "王局长", c_role_0: "head", c_mobile_0: "13711110001", wecom_mobiles: "13711110002" })).status).to.equal(303);
    expect((await Unit.findById(w.units.lead).lean())!.notify!.wecom).to.deep.include({ key: KEY, mobiles: ["13711110002"] });

    const tested = await post(`${url}/test`, { channel: "wecom" });
    expect(tested.status).to.equal(200);
    expect(tested.text).to.contain("测试消息：企业微信机器人已发送").and.contain("企业微信机器人返回 0：ok").and.not.contain(KEY);
    expect(wecom.accepted()).to.have.length(1);
    const notSet = await post(`${url}/test`, { channel: "dingtalk" });
    expect(notSet.text).to.contain("未发送成功").and.contain("未配置钉钉机器人");
  });

  it("refuses a bad mobile in Chinese, keeps what was typed (not the secret) and writes nothing", async () => {
    const url = `/admin/channels/${w.units.lead}`;
    const res = await post(url, { c_name_0: "王局长", c_role_0: "head", c_mobile_0: "1371111", wecom_key: KEY });
    expect(res.status).to.equal(422);
    expect(res.text).to.contain("手机号应为 11 位数字，以 1 开头").and.contain('value="1371111"').and.not.contain(KEY);
    const unit = (await Unit.findById(w.units.lead).lean())!;
    expect(unit.contacts).to.deep.equal([]);
    expect(unit.notify!.wecom ?? null).to.equal(null);
  });

  it("adds a leader with the units they oversee, and shows the SMS template's segment count", async () => {
    const made = await post("/admin/channels/leaders", { name: "赵副市长", title: "副市长" });
    expect(made.status).to.equal(303);
    const key = made.headers.location!.split("?")[0]!.split("/").pop()!;
    expect(key).to.match(/^leader-[0-9a-f]{12}$/);
    const saved = await post(`/admin/channels/${key}`, { name: "赵副市长", title: "副市长", unitIds: [w.units.lead, w.units.co], c_name_0: "赵副市长", c_role_0: "leader", c_mobile_0: "13911110009", emails: "zhao@gov.example" });
    expect(saved.status).to.equal(303);
    const doc = (await Addressee.findById(key).lean())!;
    expect(doc.unitIds).to.have.members([w.units.lead, w.units.co]);
    const page = await admin.agent.get(`/admin/channels/${key}`);
    // 【某市整改办】 + the example filled: 2 segments (over 70 characters), 4 with every parameter at 35.
    expect(page.text).to.match(/共 \d+ 字，每个号码计 2 条/).and.contain("最多计 4 条");
    const list = await admin.agent.get("/admin/channels");
    expect(list.text).to.contain("副市长 赵副市长").and.contain("市生态环境局、市水务局");
    expect((await post(`/admin/channels/${key}/remove`, {})).status).to.equal(303);
    expect(await Addressee.findById(key).lean()).to.equal(null);
  });

  it("短信服务: sign, template and AccessKey saved from the form (the secret never shown, kept when left blank), a bad template code refused in Chinese, the segments shown, a test SMS answered by the fake", async () => {
    const account = { accessKeyId: "LTAI5tPageKeyId00001", accessKeySecret: "PageSecretForTheFakeAccount001", signName: "某市整改办", templates: ["SMS_465000003"] };
    const sms = await fakeSms(account);
    const app = testApp(w, { SMS_ENDPOINT: sms.base });
    try {
      const a = await signIn(app.app, "admin");
      const send = (url: string, form: Record<string, string>) => a.agent.post(url).type("form").send({ _csrf: a.csrf, ...form });
      const first = await a.agent.get("/admin/channels/sms");
      expect(first.status).to.equal(200);
      expect(first.text).to.contain("短信服务尚未配置完整").and.contain("未设置");
      const form = { signName: account.signName, templateCode: "SMS-465000003", templateText: "{unit}：{level}，{ledger}“{title}”，办理期限{deadline}。请登录整改系统查看处理。".replace(/\{(\w+)\}/g, (_, k: string) => `\${${k}}`), accessKeyId: account.accessKeyId, accessKeySecret: account.accessKeySecret };
      const bad = await send("/admin/channels/sms", form);
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("模板 CODE 形如 SMS_465000001").and.contain('value="SMS-465000003"').and.not.contain(account.accessKeySecret);
      expect((await a.agent.get("/api/sms-settings")).body.templateCode).to.equal("");
      const saved = await send("/admin/channels/sms", { ...form, templateCode: account.templates[0]! });
      expect(saved.status, saved.text.slice(0, 300)).to.equal(303);
      const page = await a.agent.get("/admin/channels/sms?done=saved");
      expect(page.text).to.contain("已保存短信服务设置").and.contain("已设置，留空不变").and.match(/共 \d+ 字，每个号码计 2 条/).and.not.contain(account.accessKeySecret);
      // Saved again with the secret left blank: kept.
      expect((await send("/admin/channels/sms", { ...form, templateCode: account.templates[0]!, accessKeySecret: "" })).status).to.equal(303);
      const tested = await send("/admin/channels/sms/test", { mobile: "13800000001" });
      expect(tested.text).to.contain("测试短信已发送").and.contain("短信服务返回 OK：OK").and.contain("138****0001");
      expect(sms.messages().map((m) => m.phone)).to.deep.equal(["13800000001"]);
      const badMobile = await send("/admin/channels/sms/test", { mobile: "138" });
      expect(badMobile.status).to.equal(422);
      expect(badMobile.text).to.contain("手机号应为 11 位数字");
      expect((await a.agent.get("/admin/channels")).text).to.contain("签名【某市整改办】");
      const staff = await signIn(app.app, "staff");
      expect((await staff.agent.get("/admin/channels/sms")).status).to.equal(403);
    } finally {
      await app.close();
      await sms.close();
    }
  });

  it("the notices page shows each channel: sent, waiting for the robot's limit, failed with the reason, and 未配置接收渠道", async () => {
    await Unit.updateOne({ _id: w.units.lead }, { $set: { "notify.wecom": { key: KEY, mobiles: [] }, "notify.emails": ["lead@unit.example"], contacts: [{ name: "王局长", role: "head", mobile: "13711110001" }] } });
    const c0 = await w.service.createCase(newInspection(1), w.office);
    const c = (await w.service.applyEvent(c0._id.toString(), { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [], deadline: "2026-06-30" } }, w.office)).case;
    const n = await issueByHand(c, { level: "supervision", requirement: "请于五个工作日内报送整改进展" }, w.office, w.clock);
    await NoticeDelivery.updateOne({ _id: deliveryIdOf(n._id, "wecom") }, { $set: { status: "sent", sentAt: new Date(), target: "企业微信机器人（@1 人）" } });
    await NoticeDelivery.updateOne({ _id: deliveryIdOf(n._id, "sms") }, { $set: { waitUntil: new Date("2026-03-02T02:10:00Z") } });
    await NoticeDelivery.updateOne({ _id: deliveryIdOf(n._id, "email") }, { $set: { status: "failed", attempts: 4, lastError: "未配置 SMTP_URL，无法发送邮件" } });
    const page = await admin.agent.get("/notices");
    expect(page.status).to.equal(200);
    expect(page.text).to.contain("企业微信机器人：已发送").and.contain("短信：等待（服务商限额，约 10:10 发出）").and.contain("邮件：失败：未配置 SMTP_URL，无法发送邮件").and.contain("分管领导：未配置接收渠道（未登记领导）");
    // The unit sees its own notice's channels, never another unit's people.
    const lead = await t.signIn("lead");
    const own = await lead.agent.get("/notices");
    expect(own.text).to.contain("企业微信机器人：已发送");
    const other = await t.signIn("other");
    expect((await other.agent.get("/notices")).text).to.not.contain("王局长");
  });
});
