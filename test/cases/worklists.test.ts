/**
 * The office's work lists: a world with cases in every group, each walked there through the case
 * service, read back through the groups' filters (the 首页's lists, GET /api/cases?awaiting=…, the
 * navigation's count), oldest first, and a unit sees only its own cases in them.
 */
import { expect } from "chai";
import type { Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import { backfillStateSince } from "../../src/cases/backfill.ts";
import { listCases } from "../../src/cases/queries.ts";
import { leaderDesk } from "../../src/cases/leader.ts";
import { AWAITING, awaitingCountQuery, daysWaiting, workLists, type Awaiting } from "../../src/cases/worklists.ts";
import { MAX_FILTER_NAME, MAX_SAVED_FILTERS } from "../../src/cases/saved-filters.ts";
import { Case, NoticeTextModel, SavedFilter } from "../../src/db/models.ts";
import { checked, evidence, makeWorld, newComplaint, newInspection, type World } from "../support/fixtures.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { DEFAULT_TEXTS, compose, daysPhrase, previewSubjects, rewordTexts } from "../../src/notices/texts.ts";
import { useApp, walk, type Client } from "../support/app.ts";

/** Builds the world: returns each group's ledger numbers, oldest first, as walked. */
async function worklistWorld(w: World): Promise<Record<Awaiting, string[]> & { number: Record<string, string> }> {
  const s = w.service;
  const number: Record<string, string> = {};
  const ev = (id: string, type: string, actor: Actor, payload: Record<string, unknown> = {}) => s.applyEvent(id, { type, payload }, actor);
  const inspection = async (name: string, n: number) => {
    const c = await s.createCase(newInspection(n), w.office);
    number[name] = c.ledgerNumber;
    return c._id.toString();
  };
  const complaint = async (name: string) => {
    const c = await s.createCase(newComplaint(), w.office);
    number[name] = c.ledgerNumber;
    return c._id.toString();
  };
  const assign = (id: string, unit: string, deadline = "2026-06-30") => ev(id, "ASSIGN", w.office, { leadUnitId: unit, deadline });
  const lead = (unit: string) => [w.lead, w.co, w.other].find((a) => a.unitId === unit)!;
  const rectifying = async (id: string, unit: string) => {
    await assign(id, unit);
    await ev(id, "SIGN", lead(unit));
  };
  const submitted = async (id: string, unit: string) => {
    await rectifying(id, unit);
    await ev(id, "SUBMIT", lead(unit), { summary: "已完成", attachmentIds: [await evidence(id, lead(unit))] });
  };

  // Day 0, Monday 2 March.
  await inspection("I1", 1);
  await complaint("C1");
  w.clock.advanceDays(1);
  const i2 = await inspection("I2", 2);
  await assign(i2, w.units.lead);
  await ev(i2, "RETURN", w.lead, { reason: "不属于本单位职责" });
  const c2 = await complaint("C2");
  await ev(c2, "ACCEPT", w.office);
  const i3 = await inspection("I3", 3);
  await submitted(i3, w.units.lead);
  w.clock.advanceDays(1);
  const i4 = await inspection("I4", 4);
  await rectifying(i4, w.units.lead);
  await ev(i4, "REQUEST_EXTENSION", w.lead, { deadline: "2026-08-31", reason: "工程量大" });
  const c3 = await complaint("C3");
  await ev(c3, "ACCEPT", w.office);
  await ev(c3, "ASSIGN", w.office, { leadUnitId: w.units.other, deadline: "2026-04-30" });
  await ev(c3, "SUBMIT_RESULT", w.other, { summary: "已查实", violationFound: true, attachmentIds: [] });
  const i5 = await inspection("I5", 5);
  await submitted(i5, w.units.lead);
  await ev(i5, "PASS", w.office, await checked(w, i5));
  await ev(i5, "OBJECTION", w.office, { reason: "群众反映仍有冒黑烟" });
  const c4 = await complaint("C4");
  await ev(c4, "DECLINE", w.office, { reason: "不属于环境信访事项" });
  await inspection("I6", 6);
  const i7 = await inspection("I7", 7);
  await rectifying(i7, w.units.other);
  w.clock.advanceDays(0.1);
  await ev(i7, "REQUEST_EXTENSION", w.other, { deadline: "2026-08-31", reason: "资金未到位" });
  // A case past the state groups (assigned and signed): only the leader's 批示 makes it await the office.
  const i8 = await inspection("I8", 8);
  await rectifying(i8, w.units.lead);
  await ev(i8, "INSTRUCT", w.leader, { text: "请加快进度" });
  w.clock.advanceDays(1);
  // A progress report does not restart the wait of a pending extension.
  await ev(i4, "REPORT_PROGRESS", w.lead, { percent: 60, text: "已完成大半", attachmentIds: [] });
  w.clock.advanceDays(4);
  const n = (...names: string[]) => names.map((x) => number[x]!);
  return {
    accept: n("C1"),
    assign: n("I1", "C2", "I6"),
    returned: n("I2"),
    review: n("I3", "C3"),
    objection: n("I5"),
    extension: n("I4", "I7"),
    reply: n("C4"),
    instruction: n("I8"),
    number,
  };
}

describe("work lists (待办)", function () {
  this.timeout(60_000);
  let w: World;
  let expected: Awaited<ReturnType<typeof worklistWorld>>;
  before(async () => {
    w = await makeWorld();
    expected = await worklistWorld(w);
  });

  const numbers = (docs: { ledgerNumber: string }[]) => docs.map((d) => d.ledgerNumber);

  it("each group holds exactly its cases, longest waiting first, as the 首页 reads them", async () => {
    const lists = await workLists(w.office, w.clock.now(), 10);
    expect(lists.map((l) => l.group)).to.deep.equal([...AWAITING]);
    for (const l of lists) {
      expect(numbers(l.items), l.group).to.deep.equal(expected[l.group]);
      expect(l.total, l.group).to.equal(expected[l.group].length);
    }
    // Every case that awaits the office is in one group only.
    const all = lists.flatMap((l) => numbers(l.items));
    expect(new Set(all).size).to.equal(all.length);
  });

  it("the 台账's filter lists the same cases, oldest first, and its count is theirs", async () => {
    for (const group of AWAITING) {
      const r = await listCases(w.office, { awaiting: group }, { page: 1, pageSize: 50, sort: "stateSince" }, w.clock.now());
      expect(numbers(r.items), group).to.deep.equal(expected[group]);
      expect(r.total, group).to.equal(expected[group].length);
    }
    const sum = AWAITING.reduce((n, g) => n + expected[g].length, 0);
    expect(await awaitingCountQuery(w.office, w.clock.now())).to.equal(sum);
  });

  it("a unit asking for a group sees only its own cases in it", async () => {
    const lead = await workLists(w.lead, w.clock.now(), 10);
    const by = Object.fromEntries(lead.map((l) => [l.group, numbers(l.items)]));
    expect(by).to.deep.equal({ accept: [], assign: [], returned: [], review: [expected.number.I3], objection: [expected.number.I5], extension: [expected.number.I4], reply: [], instruction: [expected.number.I8] });
    const other = await listCases(w.other, { awaiting: "extension" }, { page: 1, pageSize: 50, sort: "stateSince" }, w.clock.now());
    expect(numbers(other.items)).to.deep.equal([expected.number.I7]);
    expect(other.total).to.equal(1);
    expect(await awaitingCountQuery(w.other, w.clock.now())).to.equal(2);
  });

  it("a case leaves its group when the office acts on it", async () => {
    const i4 = await Case.findOne({ ledgerNumber: expected.number.I4 }).lean();
    await w.service.applyEvent(i4!._id.toString(), { type: "APPROVE_EXTENSION" }, w.office);
    const r = await listCases(w.office, { awaiting: "extension" }, { page: 1, pageSize: 50, sort: "stateSince" }, w.clock.now());
    expect(numbers(r.items)).to.deep.equal([expected.number.I7]);
    // Put back as it was for the tests after this one.
    await w.service.applyEvent(i4!._id.toString(), { type: "REQUEST_EXTENSION", payload: { deadline: "2026-09-30", reason: "再次申请" } }, w.lead);
    expected.extension = [expected.number.I7!, expected.number.I4!];
  });

  it("cases stored before the wait was projected get it from their history, once", async () => {
    const before = await Case.find({}, { stateSince: 1, stateEvent: 1 }).lean();
    await Case.collection.updateMany({}, { $unset: { stateSince: "", stateEvent: "" } });
    expect(await backfillStateSince()).to.equal(before.length);
    const after = await Case.find({}, { stateSince: 1, stateEvent: 1 }).lean();
    expect(after.map((c) => [c._id.toString(), c.stateSince?.getTime(), c.stateEvent])).to.deep.equal(before.map((c) => [c._id.toString(), c.stateSince?.getTime(), c.stateEvent]));
    expect(await backfillStateSince()).to.equal(0);
  });

  it("days waiting count working days after the day the case arrived", () => {
    const cal = new WorkCalendar();
    const now = new Date("2026-03-09T10:00:00+08:00");
    expect(daysWaiting(new Date("2026-03-02T09:00:00+08:00"), now, cal)?.label).to.equal("5 个工作日");
    // Arrived on Saturday, read on Monday morning: no working day has passed since.
    expect(daysWaiting(new Date("2026-03-07T09:00:00+08:00"), new Date("2026-03-08T09:00:00+08:00"), cal)?.label).to.equal("不足 1 个工作日");
    // A year the calendar does not cover: calendar days, said so.
    expect(daysWaiting(new Date("2031-03-02T09:00:00+08:00"), new Date("2031-03-09T09:00:00+08:00"), cal)?.label).to.equal("7 天（自然日）");
  });

  describe("over HTTP", () => {
    const app = useApp({ world: () => w, once: true });

    it("GET /api/cases?awaiting= lists a group oldest first, refuses an unknown group in Chinese, and keeps a unit to its own cases", async () => {
      const staff = await app.signIn("staff");
      const r = await staff.agent.get("/api/cases?awaiting=review&sort=stateSince").expect(200);
      expect(r.body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber)).to.deep.equal(expected.review);
      const since = r.body.items.map((c: { stateSince: string }) => Date.parse(c.stateSince));
      expect(since.every((t: number) => t > 0)).to.equal(true);
      expect(since).to.deep.equal([...since].sort((a: number, b: number) => a - b));
      const bad = await staff.agent.get("/api/cases?awaiting=everything").expect(422);
      expect(JSON.stringify(bad.body)).to.contain("参数 awaiting 应为");
      const other = await app.signIn("other");
      const o = await other.agent.get("/api/cases?awaiting=review").expect(200);
      expect(o.body.items.map((c: { ledgerNumber: string }) => c.ledgerNumber)).to.deep.equal([expected.number.C3]);
      const returned = await other.agent.get("/api/cases?awaiting=returned").expect(200);
      expect(returned.body.total).to.equal(0);
    });

    it("the office's 首页 opens with the groups, their counts, oldest first, and links to the filtered 台账; the navigation shows the count", async () => {
      const staff = await app.signIn("staff");
      const html = (await staff.agent.get("/").expect(200)).text.replaceAll("&#x3D;", "=");
      const main = html.slice(html.indexOf('<main id="main">'));
      // The work lists come first on the page, and they are the office's only list (the former queue is merged in).
      expect(main.indexOf('id="work-lists"')).to.be.lessThan(main.indexOf('class="cards-row"'));
      expect(main).not.to.contain('id="office-queue"');
      for (const group of AWAITING) {
        expect(html, group).to.match(new RegExp(`id="count-${group}"[^>]*>[^<]*<strong>${expected[group].length}</strong>`));
        if (!expected[group].length) continue;
        const table = html.slice(html.indexOf(`data-group="${group}"`), html.indexOf("</table>", html.indexOf(`data-group="${group}"`)));
        const shown = [...table.matchAll(/<td data-label="编号"><a href="\/cases\/[0-9a-f]{24}">([^<]+)<\/a>/g)].map((m) => m[1]);
        expect(shown, group).to.deep.equal(expected[group]);
        expect(html).to.contain(group === "instruction" ? `href="/cases?awaiting=instruction"` : `href="/cases?awaiting=${group}&amp;sort=stateSince"`);
      }
      expect(html).to.contain("理由：不属于本单位职责");
      expect(html).to.contain("异议：群众反映仍有冒黑烟");
      const total = AWAITING.reduce((n, g) => n + expected[g].length, 0);
      expect(html).to.match(new RegExp(`id="nav-awaiting"[^>]*>待办 ${total}<`));
      // Other pages carry the count too; a unit's pages do not.
      expect((await staff.agent.get("/cases").expect(200)).text).to.contain('id="nav-awaiting"');
      const lead = await app.signIn("lead");
      const unitHome = (await lead.agent.get("/").expect(200)).text;
      expect(unitHome).not.to.contain('id="nav-awaiting"');
      expect(unitHome).not.to.contain('id="work-lists"');
    });

    it("the 台账 filtered to a group shows exactly that group", async () => {
      const staff = await app.signIn("staff");
      const html = (await staff.agent.get("/cases?awaiting=extension&sort=stateSince").expect(200)).text;
      const shown = [...html.matchAll(/<td data-label="编号"><a href="\/cases\/[0-9a-f]{24}">([^<]+)<\/a>/g)].map((m) => m[1]);
      expect(shown).to.have.members(expected.extension);
      expect(shown).to.have.length(expected.extension.length);
    });
  });
});

describe("saved 台账 filters (常用筛选)", function () {
  this.timeout(60_000);
  const app = useApp({
    once: true,
    setup: async () => {
      await SavedFilter.deleteMany({});
    },
    teardown: async () => {
      await SavedFilter.deleteMany({});
    },
  });

  const save = (s: Client, name: string, query: string) => s.form("/cases/filters", { name, query });
  const savedOn = async (s: Client) => {
    const html = (await s.agent.get("/cases").expect(200)).text.replaceAll("&#x3D;", "=").replaceAll("&amp;", "&");
    const box = html.slice(html.indexOf('id="saved-filters"'), html.indexOf("</section>", html.indexOf('id="saved-filters"')));
    return [...box.matchAll(/<a href="\/cases\?([^"]*)">([^<]+)<\/a><form method="post" action="\/cases\/filters\/([0-9a-f]{24})\/delete"/g)].map((m) => ({ query: m[1], name: m[2], id: m[3] }));
  };

  it("saves the 台账's query under a name, lists it as a link, replaces it by the same name, deletes it", async () => {
    const staff = await app.signIn("staff");
    const r = await save(staff, "本周待审核", "awaiting=review&sort=stateSince&page=3").expect(303);
    expect(r.headers.location).to.equal("/cases?awaiting=review&sort=stateSince");
    expect(await savedOn(staff)).to.deep.equal([{ query: "awaiting=review&sort=stateSince", name: "本周待审核", id: (await savedOn(staff))[0]!.id }]);
    await save(staff, "本周待审核", "awaiting=extension").expect(303);
    const [one] = await savedOn(staff);
    expect(one).to.include({ name: "本周待审核", query: "awaiting=extension&sort=-updatedAt" });
    await staff.agent.post(`/cases/filters/${one!.id}/delete`).type("form").send({ _csrf: staff.csrf }).expect(303);
    expect(await savedOn(staff)).to.deep.equal([]);
  });

  it("a user sees and deletes only their own", async () => {
    const staff = await app.signIn("staff");
    const lead = await app.signIn("lead");
    await save(staff, "超期", "overdue=true").expect(303);
    expect(await savedOn(lead)).to.deep.equal([]);
    const [mine] = await savedOn(staff);
    await lead.agent.post(`/cases/filters/${mine!.id}/delete`).type("form").send({ _csrf: lead.csrf }).expect(404);
    await lead.agent.post("/cases/filters/not-an-id/delete").type("form").send({ _csrf: lead.csrf }).expect(404);
    expect(await savedOn(staff)).to.have.length(1);
    // Without the form's CSRF token nothing is saved or deleted.
    await staff.agent.post(`/cases/filters/${mine!.id}/delete`).type("form").send({}).expect(403);
    await staff.agent.post("/cases/filters").type("form").send({ name: "无令牌", query: "" }).expect(403);
    expect(await savedOn(staff)).to.have.length(1);
  });

  it("refuses, in Chinese and changing nothing, a blank or long name, a query the 台账 does not understand, and more than the bound", async () => {
    const co = await app.signIn("co");
    expect((await save(co, "  ", "overdue=true").expect(422)).text).to.contain("请填写筛选名称");
    expect((await save(co, "名".repeat(31), "overdue=true").expect(422)).text).to.contain(`不能超过 ${MAX_FILTER_NAME} 个字`);
    expect((await save(co, "坏条件", "awaiting=everything").expect(422)).text).to.contain("筛选条件不正确");
    expect((await save(co, "坏参数", "drop=table").expect(422)).text).to.contain("筛选条件不正确");
    expect(await SavedFilter.countDocuments({})).to.equal(1);
    for (let i = 0; i < MAX_SAVED_FILTERS; i++) await save(co, `筛选${i}`, `q=${i}`).expect(303);
    expect((await save(co, "再多一个", "q=x").expect(422)).text).to.contain(`最多保存 ${MAX_SAVED_FILTERS} 个`);
    expect(await savedOn(co)).to.have.length(MAX_SAVED_FILTERS);
  });
});

describe("the unit's home: most urgent first", function () {
  this.timeout(60_000);
  // Monday 2 March 2026.
  const app = useApp({ once: true });
  const n: Record<string, string> = {};
  before(async () => {
    const w = app.w;
    const s = w.service;
    const item = async (name: string, i: number, deadline: string) => {
      const c = await s.createCase(newInspection(i), w.office);
      n[name] = c.ledgerNumber;
      const id = c._id.toString();
      await s.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline } }, w.office);
      await s.applyEvent(id, { type: "SIGN" }, w.lead);
      return id;
    };
    await item("far", 1, "2026-12-31");
    const late = await item("late", 2, "2026-03-06");
    await item("slightly", 3, "2026-03-18");
    await item("soon", 4, "2026-03-23");
    const back = await item("back", 5, "2026-11-30");
    const supervised = await item("supervised", 6, "2026-10-31");
    await s.applyEvent(back, { type: "SUBMIT", payload: { summary: "已完成", attachmentIds: [await evidence(back, w.lead)] } }, w.lead);
    await s.applyEvent(back, { type: "REJECT", payload: { reason: "佐证材料不能证明锅炉已拆除" } }, w.office);
    // Saturday 21 March: 'late' is 15 days overdue, 'slightly' 3, 'soon' is due in 1 working day.
    w.clock.set("2026-03-21T10:00:00+08:00");
    for (const id of [late, late, supervised]) await issueByHand((await s.getCase(id, w.office))!, { level: "supervision", requirement: "限期整改到位" }, w.office, w.clock);
  });

  it("orders overdue and 督办 first (most overdue, then most 督办), then due soon, then the rest; marks each card; shows why the office sent one back", async () => {
    const lead = await app.signIn("lead");
    const html = (await lead.agent.get("/").expect(200)).text;
    const table = html.slice(html.indexOf('id="unit-todo"'), html.indexOf("</table>", html.indexOf('id="unit-todo"')));
    const rows = table.split("<tr class=").slice(1);
    const numberOf = (row: string) => /<td data-label="编号"><a [^>]*>([^<]+)</.exec(row)![1];
    expect(rows.map(numberOf)).to.deep.equal([n.late, n.slightly, n.supervised, n.soon, n.back, n.far]);
    const marks = (row: string) => [...row.matchAll(/<span class="mark [a-z]+">([^<]+)<\/span>/g)].map((m) => m[1]);
    expect(marks(rows[0]!)).to.deep.equal(["已超期 15 天（10 个工作日）", "已督办 2 次"]);
    expect(marks(rows[1]!)).to.deep.equal(["已超期 3 天（2 个工作日）"]);
    expect(marks(rows[2]!)).to.deep.equal(["已督办"]);
    expect(marks(rows[3]!)).to.deep.equal(["即将到期（还有 1 个工作日）"]);
    expect(marks(rows[5]!)).to.deep.equal([]);
    expect(rows[4]).to.contain("整改办退回（2026-03-02）：</strong>佐证材料不能证明锅炉已拆除");
    expect(rows[4]).to.contain("退回整改");
  });

  it("says an overdue span as a person would: one day with no working day in it is just 1 天", () => {
    expect(daysPhrase(1, 0)).to.equal("1天");
    expect(daysPhrase(2, 2)).to.equal("2天");
    expect(daysPhrase(9, 7)).to.equal("9天（7个工作日）");
    expect(daysPhrase(9, 7, " ")).to.equal("9 天（7 个工作日）");
    expect(daysPhrase(3, null)).to.equal("3天");
    // A red warning for a Saturday deadline, issued on Sunday.
    const [item] = previewSubjects("red", "2026-03-08");
    item!.doc.deadline = "2026-03-07";
    const red = compose(DEFAULT_TEXTS.red, item!, { office: "整改办", calendar: new WorkCalendar(), issuedAt: new Date("2026-03-08T10:00:00+08:00") });
    expect(red.paragraphs.join("\n")).to.contain("整改时限为2026年3月7日，已超期1天，").and.not.contain("0个工作日");
  });

  it("texts the admin never edited take the new wording; edited ones are left alone", async () => {
    await NoticeTextModel.deleteMany({});
    const old = "已超期{超期天数}天（{超期工作日}个工作日），尚未完成{环节}。";
    await NoticeTextModel.create([
      { _id: "red", title: "红色预警", body: old, replyDays: 3, updatedBy: null },
      { _id: "supervision", title: "督办通知", body: old, replyDays: 5, updatedBy: "admin-1" },
    ]);
    expect(await rewordTexts()).to.equal(1);
    expect((await NoticeTextModel.findById("red").lean())!.body).to.equal("已超期{超期时长}，尚未完成{环节}。");
    expect((await NoticeTextModel.findById("supervision").lean())!.body).to.equal(old);
    await NoticeTextModel.deleteMany({});
  });
});

describe("the leader's desk", function () {
  this.timeout(60_000);
  it("counts each case's 督办 in the database: an overdue case with its 督办, a case under 约谈/通报 first, another unit's case apart", async () => {
    const w = await makeWorld();
    const late = (await walk(w, "inspection", "rectifying.working", { n: 1, deadline: "2026-03-10" }))._id.toString();
    const escalated = (await walk(w, "inspection", "rectifying.working", { n: 2, deadline: "2026-12-31" }))._id.toString();
    const elsewhere = (await walk(w, "inspection", "rectifying.working", { n: 3, unit: "co", deadline: "2026-12-31" }))._id.toString();
    await walk(w, "inspection", "rectifying.working", { n: 4, deadline: "2026-12-31" });
    w.clock.set("2026-03-20T10:00:00+08:00");
    const issue = async (id: string, level: "supervision" | "escalation") => issueByHand((await w.service.getCase(id, w.office))!, { level, requirement: "限期整改到位" }, w.office, w.clock);
    await issue(late, "supervision");
    await issue(late, "supervision");
    await issue(escalated, "escalation");
    await issue(elsewhere, "supervision");
    const desk = (await leaderDesk(w.leader, w.clock.now())).map((u) => ({ unitId: u.unitId, cases: u.cases.map((x) => [x.c._id.toString(), x.overdueDays, x.supervisions, x.escalated]) }));
    expect(desk).to.deep.equal([
      { unitId: w.units.lead, cases: [[escalated, 0, 1, true], [late, 10, 2, false]] },
      { unitId: w.units.co, cases: [[elsewhere, 0, 1, false]] },
    ]);
  });
});
