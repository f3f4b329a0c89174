/**
 * The 管理 pages against the real app and services: who may enter, what each form writes, Chinese
 * field errors with the input kept and nothing written, CSRF on every form, escaping, and the queue
 * monitor with no queue and with a real BullMQ queue.
 */
import { randomUUID } from "node:crypto";
import { Queue, Worker } from "bullmq";
import { expect } from "chai";
import request from "supertest";
import { CalendarYear, HolidayOverride, Unit, User } from "../../src/db/models.ts";
import { createUnit } from "../../src/directory.ts";
import { loadRules } from "../../src/notices/rules.ts";
import { loadSettings } from "../../src/notices/settings.ts";
import { loadTexts } from "../../src/notices/texts.ts";
import { makeQueue, queueConnection, workerConnection } from "../../src/queues.ts";
import { useApp, type Client } from "../support/app.ts";
import type { World } from "../support/fixtures.ts";
import { PASSWORD, signIn, testApp } from "../support/http.ts";

const PAGES = ["/admin", "/admin/units", "/admin/users", "/admin/rules", "/admin/texts", "/admin/settings", "/admin/holidays", "/admin/queues"];
const FORBIDDEN = "只有整改办管理员可以进入管理页面";

/** Logs in through the JSON API with any password; the response (200 or 401). */
const login = (app: Parameters<typeof request.agent>[0], username: string, password: string) =>
  request.agent(app).post("/api/auth/login").send({ username, password });

describe("管理 pages (office admin)", function () {
  this.timeout(60_000);
  const t = useApp({
    users: ["admin"],
    setup: async () => {
      await Promise.all([HolidayOverride.deleteMany({}), CalendarYear.deleteMany({})]);
    },
  });
  let w: World;
  let admin: Client;
  beforeEach(() => {
    ({ w, as: { admin } } = t);
  });
  after(async () => {
    await Promise.all([HolidayOverride.deleteMany({}), CalendarYear.deleteMany({})]);
  });

  /** A form post of the admin's, with the session's CSRF token. */
  const post = (url: string, form: Record<string, string>, as: Client = admin) => as.form(url, form);
  const userId = async (username: string) => (await User.findOne({ username }).lean())!._id.toString();

  it("shows every page to the admin, in Chinese, with the 管理 link", async () => {
    for (const url of PAGES) {
      const res = await admin.agent.get(url);
      expect(res.status, url).to.equal(200);
      expect(res.type).to.equal("text/html");
      expect(res.text).to.match(/<nav[^>]*>[\s\S]*<a href="\/admin" class="on" aria-current="page">管理<\/a>[\s\S]*<\/nav>/);
      expect(res.text).to.contain(`name="_csrf"`);
    }
    const staff = await t.signIn("staff");
    expect((await staff.agent.get("/")).text).to.not.contain('href="/admin"');
  });

  it("refuses every page and every form to staff, leaders and units (403), and sends strangers to the login page", async () => {
    const u = await userId("lead");
    const posts: [string, Record<string, string>][] = [
      ["/admin/units", { name: "不该出现的单位" }],
      [`/admin/units/${w.units.lead}`, { shortName: "改", active: "on" }],
      ["/admin/users", { username: "intruder", displayName: "x", password: "long-enough-1", role: "office_admin" }],
      [`/admin/users/${u}`, { displayName: "x", role: "office_admin", unitId: "" }],
      [`/admin/users/${u}/password`, { password: "long-enough-1" }],
      [`/admin/users/${u}/active`, { active: "false" }],
      ["/admin/rules/inspection.due_reminder", { t0_days: "9", t0_unit: "workday", points: "0", clause: "", enabled: "on" }],
      ["/admin/texts/red", { title: "改过", body: "改过", replyDays: "3" }],
      ["/admin/texts/red/preview", { title: "改过", body: "改过", replyDays: "3" }],
      ["/admin/settings", { issuerMark: "x", signer: "x", contactName: "", contactPhone: "", cc: "", verificationTerm: "验收" }],
      ["/admin/holidays", { date: "2026-10-09", workday: "true", note: "" }],
      ["/admin/holidays/years", { year: "2031", note: "" }],
    ];
    const before = { units: await Unit.countDocuments(), users: await User.countDocuments(), overrides: await HolidayOverride.countDocuments() };
    for (const who of ["staff", "leader", "lead"]) {
      const s = await t.signIn(who);
      for (const url of [...PAGES, "/admin/nowhere"]) {
        const res = await s.agent.get(url);
        expect(res.status, `${who} GET ${url}`).to.equal(403);
        expect(res.text).to.contain(FORBIDDEN);
      }
      for (const [url, form] of posts) {
        const res = await post(url, form, s);
        expect(res.status, `${who} POST ${url}`).to.equal(403);
      }
    }
    expect({ units: await Unit.countDocuments(), users: await User.countDocuments(), overrides: await HolidayOverride.countDocuments() }).to.deep.equal(before);
    expect((await loadRules()).find((r) => r.id === "inspection.due_reminder")!.triggers[0]).to.include({ days: 5 });
    expect(await User.exists({ username: "lead", active: true })).to.not.equal(null);
    const stranger = await request(t.app).get("/admin/users");
    expect(stranger.status).to.equal(302);
    expect(stranger.headers.location).to.equal("/login?next=%2Fadmin%2Fusers");
  });

  it("refuses every form post without the CSRF token (403) and writes nothing", async () => {
    const u = await userId("lead");
    const o = await HolidayOverride.create({ date: "2026-10-09", workday: true, note: "调休" });
    const y = await CalendarYear.create({ year: 2031 });
    const forms: [string, Record<string, string>][] = [
      ["/admin/units", { name: "无令牌单位" }],
      [`/admin/units/${w.units.lead}`, { shortName: "改", active: "" }],
      ["/admin/users", { username: "nocsrf", displayName: "x", password: "long-enough-1", role: "office_staff" }],
      [`/admin/users/${u}`, { displayName: "x", role: "office_admin", unitId: "" }],
      [`/admin/users/${u}/password`, { password: "long-enough-1" }],
      [`/admin/users/${u}/active`, { active: "false" }],
      ["/admin/rules/inspection.due_reminder", { t0_days: "9", t0_unit: "workday", points: "0", clause: "", enabled: "on" }],
      ["/admin/holidays", { date: "2026-10-10", workday: "true", note: "" }],
      [`/admin/holidays/${o._id}/delete`, {}],
      ["/admin/holidays/years", { year: "2032", note: "" }],
      [`/admin/holidays/years/${y._id}/delete`, {}],
    ];
    for (const [url, form] of forms) {
      const missing = await admin.agent.post(url).type("form").send(form);
      expect(missing.status, `POST ${url} without token`).to.equal(403);
      expect(missing.text).to.contain("页面已过期或请求来源不明");
      const wrong = await admin.agent.post(url).type("form").send({ ...form, _csrf: "x".repeat(admin.csrf.length) });
      expect(wrong.status, `POST ${url} with a wrong token`).to.equal(403);
      const wide = await admin.agent.post(url).type("form").send({ ...form, _csrf: "令".repeat(admin.csrf.length) });
      expect(wide.status, `POST ${url} with a wrong token of wide characters`).to.equal(403);
    }
    // The token in the header and no form at all: a field error, not a crash.
    const bare = await admin.agent.post("/admin/units").set("X-CSRF-Token", admin.csrf);
    expect(bare.status).to.equal(422);
    expect(bare.text).to.contain("请填写单位名称");
    expect(await Unit.exists({ name: "无令牌单位" })).to.equal(null);
    expect((await Unit.findById(w.units.lead).lean())!.active).to.equal(true);
    expect(await User.exists({ username: "nocsrf" })).to.equal(null);
    expect((await User.findById(u).lean())!.active).to.equal(true);
    expect(await HolidayOverride.countDocuments()).to.equal(1);
    expect(await CalendarYear.countDocuments()).to.equal(1);
    expect((await loadRules()).find((r) => r.id === "inspection.due_reminder")!.triggers[0]).to.include({ days: 5 });
  });

  describe("units", () => {
    it("adds a unit, which then appears in the table", async () => {
      const res = await post("/admin/units", { name: "市林业局", shortName: "林业局", aliases: "市林业和草原局、林草局，市林草局", emails: "a@example.cn, b@example.cn", webhookUrl: "https://hooks.example.cn/rf", webhookSecret: "0123456789abcdef-secret" });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal("/admin/units?done=unit_created");
      const u = await Unit.findOne({ name: "市林业局" }).lean();
      expect(u).to.not.equal(null);
      expect(u!.aliases).to.deep.equal(["市林业和草原局", "林草局", "市林草局"]);
      expect(u!.notify.emails).to.deep.equal(["a@example.cn", "b@example.cn"]);
      const page = await admin.agent.get(res.headers.location!);
      expect(page.text).to.contain("已新增单位").and.contain("市林业局").and.contain("市林业和草原局、林草局、市林草局").and.contain("已配置");
      expect(page.text).to.not.contain("0123456789abcdef-secret");
    });

    it("shows a Chinese error beside a blank name, keeps the input and writes nothing", async () => {
      const before = await Unit.countDocuments();
      const res = await post("/admin/units", { name: "  ", shortName: "留着的简称", aliases: "别名甲、别名乙", emails: "x@example.cn", webhookUrl: "", webhookSecret: "" });
      expect(res.status).to.equal(422);
      expect(res.text).to.match(/id="new-name"[^>]*>\s*<span class="error field-error">请填写单位名称<\/span>/);
      expect(res.text).to.contain('value="留着的简称"').and.contain('value="别名甲、别名乙"').and.contain('value="x@example.cn"');
      expect(await Unit.countDocuments()).to.equal(before);

      const bad = await post("/admin/units", { name: "市气象局", emails: "not-an-email", webhookUrl: "ftp://x", webhookSecret: "short" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("电子邮箱格式不正确").and.contain("推送地址应为 http(s) 网址").and.contain("推送签名密钥至少 16 位");
      expect(await Unit.exists({ name: "市气象局" })).to.equal(null);

      // zod's own length message is worded by the page, and put in Chinese by the API.
      const long = await post("/admin/units", { name: "长".repeat(101) });
      expect(long.status).to.equal(422);
      expect(long.text).to.contain("单位名称不能超过 100 个字");
      const api = await admin.agent.post("/api/units").set("X-CSRF-Token", admin.csrf).send({ name: "长".repeat(101) });
      expect(api.status).to.equal(422);
      expect(api.body.error.message).to.equal("单位名称不能超过 100 个字");

      const dup = await post("/admin/units", { name: "市水务局" });
      expect(dup.status).to.equal(409);
      expect(dup.text).to.contain("单位“市水务局”已存在");
    });

    it("escapes what was typed (a unit named <b>x</b>)", async () => {
      expect((await post("/admin/units", { name: "<b>x</b>", shortName: '"><script>alert(1)</script>' })).status).to.equal(303);
      const page = await admin.agent.get("/admin/units");
      expect(page.text).to.contain("&lt;b&gt;x&lt;/b&gt;").and.not.contain("<b>x</b>");
      expect(page.text).to.not.contain("<script>alert(1)</script>");
      // …and on a refused form too.
      const refused = await post("/admin/units", { name: "", shortName: "<i>y</i>" });
      expect(refused.text).to.contain("&lt;i&gt;y&lt;/i&gt;").and.not.contain("<i>y</i>");
    });

    it("edits a unit; a blank secret keeps the stored one, which is never shown", async () => {
      const u = await createUnit({ name: "市林业局", notify: { emails: [], webhookUrl: "https://hooks.example.cn/a", webhookSecret: "the-stored-secret-0001" } });
      const id = u._id.toString();
      const res = await post(`/admin/units/${id}`, { shortName: "林业局", aliases: "林草局、市林草局", emails: "lin@example.cn", webhookUrl: "https://hooks.example.cn/b", webhookSecret: "", active: "on" });
      expect(res.status).to.equal(303);
      let saved = await Unit.findById(id).lean();
      expect(saved).to.deep.include({ shortName: "林业局", aliases: ["林草局", "市林草局"], active: true });
      // The page edits email and webhook; the robots (none set here) are left as they were.
      expect(saved!.notify).to.deep.equal({ emails: ["lin@example.cn"], webhookUrl: "https://hooks.example.cn/b", webhookSecret: "the-stored-secret-0001", wecom: null, dingtalk: null, feishu: null, sms: null });
      const page = await admin.agent.get("/admin/units");
      expect(page.text).to.contain("林草局、市林草局").and.not.contain("the-stored-secret-0001");

      const bad = await post(`/admin/units/${id}`, { shortName: "新简称", aliases: "", emails: "bad@", webhookUrl: "", webhookSecret: "", active: "on" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("电子邮箱格式不正确").and.contain('value="新简称"').and.contain('value="bad@"');
      expect((await Unit.findById(id).lean())!.shortName).to.equal("林业局");

      // Deactivate, a new secret, then no short name.
      expect((await post(`/admin/units/${id}`, { shortName: "", aliases: "", emails: "", webhookUrl: "", webhookSecret: "a-brand-new-secret-02" })).status).to.equal(303);
      saved = await Unit.findById(id).lean();
      expect(saved!.active).to.equal(false);
      expect(saved!.shortName).to.equal(undefined);
      expect(saved!.notify).to.deep.equal({ emails: [], webhookUrl: null, webhookSecret: "a-brand-new-secret-02", wecom: null, dingtalk: null, feishu: null, sms: null });
      expect((await post(`/admin/units/${id}`, { clearSecret: "on", active: "on" })).status).to.equal(303);
      expect((await Unit.findById(id).lean())!.notify.webhookSecret).to.equal(null);

      expect((await post("/admin/units/000000000000000000000000", { active: "on" })).status).to.equal(404);
      expect((await post("/admin/units/nonsense", { active: "on" })).status).to.equal(404);
    });
  });

  describe("users", () => {
    it("adds a unit liaison who can then sign in; a liaison without a unit is refused", async () => {
      const res = await post("/admin/users", { username: "linye", displayName: "林业局联络员", password: PASSWORD, role: "unit_user", unitId: w.units.co });
      expect(res.status).to.equal(303);
      const u = await User.findOne({ username: "linye" }).lean();
      expect(u).to.deep.include({ displayName: "林业局联络员", role: "unit_user", unitId: w.units.co, active: true });
      expect(u!.passwordHash).to.match(/^\$argon2id\$/);
      const signed = await t.signIn("linye");
      expect((await signed.agent.get("/api/me")).body.unitId).to.equal(w.units.co);
      const page = await admin.agent.get("/admin/users");
      expect(page.text).to.contain("linye").and.contain("责任单位联络员").and.contain("市水务局");

      const before = await User.countDocuments();
      const noUnit = await post("/admin/users", { username: "nounit", displayName: "无单位", password: PASSWORD, role: "unit_user", unitId: "" });
      expect(noUnit.status).to.equal(422);
      expect(noUnit.text).to.contain("责任单位联络员须选择所属单位").and.contain('value="nounit"').and.contain('value="无单位"');
      expect(noUnit.text).to.not.contain(PASSWORD);
      const badName = await post("/admin/users", { username: "a b", displayName: "", password: "short", role: "leader", unitId: "" });
      expect(badName.status).to.equal(422);
      expect(badName.text).to.contain("用户名应为 2–40 位").and.contain("请填写姓名").and.contain("密码至少 8 位");
      const taken = await post("/admin/users", { username: "staff", displayName: "重名", password: PASSWORD, role: "office_staff", unitId: "" });
      expect(taken.status).to.equal(409);
      expect(taken.text).to.contain("用户名“staff”已被使用");
      expect(await User.countDocuments()).to.equal(before);
    });

    it("resets a password: the old one stops working, the new one works, the user's sessions end", async () => {
      const lead = await t.signIn("lead");
      const id = await userId("lead");
      const short = await post(`/admin/users/${id}/password`, { password: "1234" });
      expect(short.status).to.equal(422);
      expect(short.text).to.contain("密码至少 8 位");
      const res = await post(`/admin/users/${id}/password`, { password: "a-new-password-2026" });
      expect(res.status).to.equal(303);
      expect((await admin.agent.get(res.headers.location!)).text).to.contain("已重置密码");
      expect((await login(t.app, "lead", PASSWORD)).status).to.equal(401);
      expect((await login(t.app, "lead", "a-new-password-2026")).status).to.equal(200);
      expect((await lead.agent.get("/api/me")).status).to.equal(401);
      // The admin's own session is kept when resetting their own password.
      expect((await post(`/admin/users/${admin.userId}/password`, { password: "admin-password-new" })).status).to.equal(303);
      expect((await admin.agent.get("/admin")).status).to.equal(200);
    });

    it("deactivates a user (whose login then fails with 401) and reactivates them; an admin cannot deactivate themself", async () => {
      const lead = await t.signIn("lead");
      const id = await userId("lead");
      const res = await post(`/admin/users/${id}/active`, { active: "false" });
      expect(res.status).to.equal(303);
      expect((await login(t.app, "lead", PASSWORD)).status).to.equal(401);
      expect((await lead.agent.get("/api/me")).status).to.equal(401);
      expect((await admin.agent.get("/admin/users")).text).to.match(/id="user-[^"]+" class="muted">\s*<td>lead<\/td>[\s\S]*?<td>停用<\/td>/);
      expect((await post(`/admin/users/${id}/active`, { active: "true" })).status).to.equal(303);
      expect((await login(t.app, "lead", PASSWORD)).status).to.equal(200);
      // A session from before the deactivation does not come back with the account.
      expect((await lead.agent.get("/api/me")).status).to.equal(401);

      const self = await post(`/admin/users/${admin.userId}/active`, { active: "false" });
      expect(self.status).to.equal(422);
      expect(self.text).to.contain("不能停用自己的账号");
      expect((await User.findById(admin.userId).lean())!.active).to.equal(true);
      expect((await admin.agent.get("/admin")).status).to.equal(200);
    });

    it("changes role and unit by the API's rules; nobody changes their own role", async () => {
      const id = await userId("staff");
      const noUnit = await post(`/admin/users/${id}`, { displayName: "王敏", role: "unit_user", unitId: "" });
      expect(noUnit.status).to.equal(422);
      expect(noUnit.text).to.contain("责任单位联络员须选择所属单位").and.contain('value="王敏"');
      const unknown = await post(`/admin/users/${id}`, { displayName: "王敏", role: "unit_user", unitId: "000000000000000000000000" });
      expect(unknown.status).to.equal(422);
      expect(unknown.text).to.contain("单位不存在或已停用");
      expect(await User.findById(id).lean()).to.deep.include({ role: "office_staff", displayName: "staff" });

      expect((await post(`/admin/users/${id}`, { displayName: "王敏", role: "unit_user", unitId: w.units.other })).status).to.equal(303);
      expect(await User.findById(id).lean()).to.deep.include({ role: "unit_user", unitId: w.units.other, displayName: "王敏" });
      const staff = await t.signIn("staff");
      expect((await staff.agent.get("/api/me")).body).to.deep.include({ role: "unit_user", unitId: w.units.other });

      const self = await post(`/admin/users/${admin.userId}`, { displayName: "admin", role: "office_staff", unitId: "" });
      expect(self.status).to.equal(422);
      expect(self.text).to.contain("不能修改自己的角色");
      expect((await User.findById(admin.userId).lean())!.role).to.equal("office_admin");
      expect((await post("/admin/users/000000000000000000000000", { displayName: "x", role: "leader", unitId: "" })).status).to.equal(404);
    });
  });

  describe("rules", () => {
    it("lists the ladder with Chinese triggers", async () => {
      const page = await admin.agent.get("/admin/rules");
      expect(page.text)
        .to.contain("到期提醒")
        .and.contain("期限前 5 个工作日")
        .and.contain("期限后 0 个自然日")
        .and.contain("滞后于序时进度 20 个百分点")
        .and.contain("交办后 2 个工作日")
        .and.contain("受理期限前 3 个自然日")
        .and.contain("法定办结期限后 0 个自然日")
        .and.contain("办结超期提醒")
        .and.contain("《信访工作条例》第二十二条");
    });

    it("changes a rule's days and unit, seen by loadRules(); refuses bad numbers with the input kept", async () => {
      const res = await post("/admin/rules/inspection.yellow", { t0_days: "3", t0_unit: "calendar", t1_margin: "25", holders: "unit", points: "-1", clause: "市整改办工作规则第十条", enabled: "on" });
      expect(res.status).to.equal(303);
      const yellow = (await loadRules()).find((r) => r.id === "inspection.yellow")!;
      expect(yellow.triggers).to.deep.equal([
        { anchor: "deadline", direction: "before", days: 3, unit: "calendar" },
        { behindSchedule: true, marginPoints: 25 },
      ]);
      expect(yellow).to.deep.include({ points: -1, clause: "市整改办工作规则第十条", enabled: true });
      const page = await admin.agent.get(res.headers.location!);
      expect(page.text).to.contain("期限前 3 个自然日").and.contain("滞后于序时进度 25 个百分点").and.contain("已保存规则");

      const bad = await post("/admin/rules/inspection.yellow", { t0_days: "三天", t0_unit: "workday", t1_margin: "25", points: "5", clause: "改过的条款", enabled: "" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("天数应为 0–365 的整数").and.contain('value="三天"').and.contain("改过的条款");
      const positive = await post("/admin/rules/inspection.yellow", { t0_days: "3", t0_unit: "workday", t1_margin: "25", points: "5", clause: "", enabled: "" });
      expect(positive.status).to.equal(422);
      expect(positive.text).to.contain("扣分应为 0 或负数");
      expect((await loadRules()).find((r) => r.id === "inspection.yellow")).to.deep.equal(yellow);

      // A unit's rung cannot be turned on the office's time: its states are the unit's.
      const onOffice = await post("/admin/rules/inspection.red", { t0_days: "1", t0_unit: "workday", holders: "office", points: "-1", clause: "", enabled: "" });
      expect(onOffice.status).to.equal(422);
      expect(onOffice.text).to.contain("这些状态不由整改办办理，规则在其中不会触发：已交办、整改中");
      expect((await post("/admin/rules/inspection.red", { t0_days: "1", t0_unit: "workday", holders: "unit", points: "-1", clause: "", enabled: "" })).status).to.equal(303);
      expect((await loadRules()).find((r) => r.id === "inspection.red")).to.deep.include({ enabled: false, triggers: [{ anchor: "deadline", direction: "after", days: 1, unit: "workday" }] });
      expect((await post("/admin/rules/no.such.rule", { points: "0" })).status).to.equal(404);
    });
  });

  describe("notice texts", () => {
    it("shows each level's words; previews an edit on both kinds of case without saving; saves it; refuses an unknown placeholder with the input kept", async () => {
      const page = await admin.agent.get("/admin/texts");
      expect(page.text).to.contain("签收提醒").and.contain("督办通知").and.contain("{答复期限}").and.contain("请于{答复期限}前（{答复工作日}个工作日内）登录系统签收");
      const edit = { title: "红色预警（催办）", body: "{编号类别}{编号}已超期{超期天数}天。\n{依据}", replyDays: "2" };
      const shown = await post("/admin/texts/red/preview", edit);
      expect(shown.status).to.equal(200);
      expect(shown.text).to.contain("督察问题示例：红色预警（催办）").and.contain("台账编号ZY2-03已超期3天").and.contain("信访件示例").and.contain("信访编号XF-2026-000123已超期3天");
      expect(shown.text).to.contain("依据：《信访工作条例》第三十四条");
      expect((await loadTexts()).red.title).to.equal("红色预警");
      const saved = await post("/admin/texts/red", edit);
      expect(saved.status).to.equal(303);
      expect((await loadTexts()).red).to.deep.include({ title: "红色预警（催办）", replyDays: 2 });
      const bad = await post("/admin/texts/red", { ...edit, body: "已超期{超期月数}个月 <b>", replyDays: "" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("没有这些占位符：{超期月数}").and.contain("已超期{超期月数}个月 &lt;b&gt;").and.contain("签收或报送期限应为数字");
      expect((await post("/admin/texts/nosuch", edit)).status).to.equal(404);
      expect((await loadTexts()).red.title).to.equal("红色预警（催办）");
    });
  });

  describe("settings", () => {
    it("saves the office's particulars for its documents; refuses a bad phone number with the input kept", async () => {
      const page = await admin.agent.get("/admin/settings");
      expect(page.text).to.contain("发文机关标志").and.contain("市生态环境保护督察整改工作领导小组办公室");
      const form = { issuerMark: "某市生态环境保护督察整改办", signer: "某市整改办", contactName: "王敏", contactPhone: "0371-6789 1234", cc: "分管副市长", verificationTerm: "验收" };
      expect((await post("/admin/settings", form)).status).to.equal(303);
      expect(await loadSettings()).to.deep.equal(form);
      const bad = await post("/admin/settings", { ...form, contactPhone: "<call me>", verificationTerm: "检查" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("联系电话只能包含数字").and.contain("销号核查的称谓应为").and.contain("&lt;call me&gt;");
      expect(await loadSettings()).to.deep.equal(form);
    });
  });

  describe("holidays", () => {
    it("adds and deletes an override, refusing a malformed date in Chinese", async () => {
      const page = await admin.agent.get("/admin/holidays");
      expect(page.text).to.match(/id="covered">20\d\d–20\d\d</);
      const res = await post("/admin/holidays", { date: "2026-10-09", workday: "true", note: "<调休>" });
      expect(res.status).to.equal(303);
      const o = await HolidayOverride.findOne({ date: "2026-10-09" }).lean();
      expect(o).to.deep.include({ workday: true, note: "<调休>" });
      const after = await admin.agent.get("/admin/holidays");
      expect(after.text).to.contain("2026-10-09").and.contain("星期五").and.contain("&lt;调休&gt;");

      for (const date of ["2026-13-01", "2026-02-30", "26-10-09", ""]) {
        const bad = await post("/admin/holidays", { date, workday: "false", note: "留着" });
        expect(bad.status, date).to.equal(422);
        expect(bad.text).to.contain("日期应为有效日期，格式 YYYY-MM-DD").and.contain('value="留着"');
      }
      const dup = await post("/admin/holidays", { date: "2026-10-09", workday: "false", note: "" });
      expect(dup.status).to.equal(409);
      expect(dup.text).to.contain("2026-10-09 已有调整");
      expect(await HolidayOverride.countDocuments()).to.equal(1);

      expect((await post(`/admin/holidays/${o!._id}/delete`, {})).status).to.equal(303);
      expect(await HolidayOverride.countDocuments()).to.equal(0);
      expect((await post(`/admin/holidays/${o!._id}/delete`, {})).status).to.equal(404);
    });

    it("marks a year entered, refusing years the shipped calendar covers and bad years", async () => {
      const res = await post("/admin/holidays/years", { year: "2031", note: "国办发明电" });
      expect(res.status).to.equal(303);
      const y = await CalendarYear.findOne({ year: 2031 }).lean();
      expect(y).to.deep.include({ note: "国办发明电" });
      expect((await admin.agent.get("/admin/holidays")).text).to.match(/<td>2031<\/td>/);
      const covered = await post("/admin/holidays/years", { year: "2025", note: "" });
      expect(covered.status).to.equal(422);
      expect(covered.text).to.contain("2025 年的节假日安排已随系统提供");
      const bad = await post("/admin/holidays/years", { year: "二〇三一", note: "" });
      expect(bad.status).to.equal(422);
      expect(bad.text).to.contain("年份应为 2000–2100 之间的四位数字");
      expect((await post("/admin/holidays/years", { year: "2031", note: "" })).status).to.equal(409);
      expect(await CalendarYear.countDocuments()).to.equal(1);
      expect((await post(`/admin/holidays/years/${y!._id}/delete`, {})).status).to.equal(303);
      expect(await CalendarYear.countDocuments()).to.equal(0);
    });
  });

  describe("queues", () => {
    it("says so when the process holds no queue", async () => {
      const page = await admin.agent.get("/admin/queues");
      expect(page.status).to.equal(200);
      expect(page.text).to.contain("本进程未连接队列");
    });

    it("shows counts, schedulers and failed jobs of a real BullMQ queue", async function () {
      this.timeout(30_000);
      const prefix = `rf-admin-test-${randomUUID()}`;
      const connection = queueConnection(process.env.REDIS_URL!);
      const workerConn = workerConnection(process.env.REDIS_URL!);
      const queue = makeQueue("notice-delivery", connection, prefix);
      const worker = new Worker(
        "notice-delivery",
        async (job) => {
          if (job.data.fail) throw new Error("SMTP 421 <服务不可用>");
        },
        { connection: workerConn, prefix },
      );
      const withQueue = testApp(w, {}, [queue]);
      try {
        const failed = new Promise((resolve) => worker.on("failed", resolve));
        await queue.add("deliver", { fail: true }, { attempts: 1 });
        await failed;
        await queue.add("later", {}, { delay: 3_600_000 });
        await queue.upsertJobScheduler("sweep-test", { every: 60_000 }, { name: "sweep" });
        await queue.upsertJobScheduler("sweep-cron", { pattern: "*/5 * * * *", tz: "Asia/Shanghai" }, { name: "sweep" });
        const a = await signIn(withQueue.app, "admin");
        const page = await a.agent.get("/admin/queues");
        expect(page.status).to.equal(200);
        expect(page.text).to.contain("通知投递").and.not.contain("本进程未连接队列");
        expect(page.text).to.match(/data-state="failed">1</);
        expect(page.text).to.match(/data-state="delayed">[1-9]</);
        expect(page.text).to.contain("SMTP 421 &lt;服务不可用&gt;").and.contain("deliver");
        // Names and schedules in words: no queue name, scheduler key or cron string is shown.
        const shown = page.text.replace(/<[^>]*>/g, " ");
        expect(shown).to.contain("巡检").and.contain("每 60 秒").and.contain("每 5 分钟").and.contain("北京时间");
        expect(shown).to.not.contain("sweep-test").and.not.contain("*/5").and.not.contain("notice-delivery").and.not.contain("Asia/Shanghai");
      } finally {
        await worker.close();
        await queue.obliterate({ force: true });
        await queue.close();
        await withQueue.close();
        connection.disconnect();
        workerConn.disconnect();
      }
    });

    it("shows a queue whose Redis is gone as an error, not a failed page", async () => {
      const dead = new Queue("notice-sweep", { connection: { host: "127.0.0.1", port: 1, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null }, prefix: "rf-admin-dead" });
      dead.on("error", () => {});
      const withDead = testApp(w, {}, [dead]);
      try {
        const a = await signIn(withDead.app, "admin");
        const page = await a.agent.get("/admin/queues");
        expect(page.status).to.equal(200);
        expect(page.text).to.contain("通知巡检").and.contain("无法读取队列");
      } finally {
        await dead.close().catch(() => {});
        await withDead.close();
      }
    });
  });
});
