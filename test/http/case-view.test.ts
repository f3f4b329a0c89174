/**
 * The case page and GET /api/cases/:id are drawn from one view model (src/cases/view.ts): for a few
 * states and users they offer the same actions and show the same light, deadline revisions, 公示 end
 * and pending extension.
 */
import { expect } from "chai";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { useApp } from "../support/app.ts";
import { checked, evidence, newComplaint, newInspection, type World } from "../support/fixtures.ts";

const textOf = (html: string) => html.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();

describe("the case view: page and API agree", function () {
  this.timeout(60_000);
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", users: ["staff", "lead", "leader"] });
  let w: World;
  let users: typeof t.as;
  beforeEach(() => {
    ({ w, as: users } = t);
  });

  /** What the page and the API say of a case, as the given user. */
  async function both(who: keyof typeof users, id: string) {
    const html = (await users[who].agent.get(`/cases/${id}`).expect(200)).text;
    const api = (await users[who].agent.get(`/api/cases/${id}`).expect(200)).body;
    const publicity = /id="case-publicity">([^<]*)</.exec(html)?.[1] ?? null;
    const revisions = [...(/<h2>时限及其由来<\/h2>[\s\S]*?<tbody>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? "").matchAll(/<tr[^>]*><td>(\d+)<\/td><td>([^<]*)<\/td>/g)].map((m) => [Number(m[1]), m[2]]);
    return {
      html,
      api,
      page: {
        actions: [...html.matchAll(/<form [^>]*id="action-([A-Z_]+)"/g)].map((m) => m[1]),
        light: /<span class="light (red|yellow|green)"/.exec(html)?.[1] ?? null,
        publicity,
        revisions,
        extension: /id="case-extension">([^<]*)</.exec(html)?.[1] ?? null,
      },
    };
  }

  const inspection = async (n: number) => (await w.service.createCase(newInspection(n), w.office))._id.toString();

  it("a newly registered case: the office's actions, no light, no revision", async () => {
    const id = await inspection(1);
    for (const who of ["staff", "leader"] as const) {
      const { api, page } = await both(who, id);
      expect(page.actions).to.deep.equal(api.allowedEvents);
      expect(api.light).to.equal(null);
      expect(page.light).to.equal(null);
      expect(api.deadlineRevisions).to.deep.equal([]);
      expect(page.revisions).to.deep.equal([]);
    }
    expect((await both("staff", id)).api.allowedEvents).to.include("ASSIGN");
    // A leader may write a 批示 on any open case (docs/domain.md#instructions), and does nothing else.
    expect((await both("leader", id)).api.allowedEvents).to.deep.equal(["INSTRUCT"]);
  });

  it("an assigned case: the unit may sign, both show the green light and the deadline ASSIGN set", async () => {
    const id = await inspection(2);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
    for (const who of ["staff", "lead"] as const) {
      const { api, page } = await both(who, id);
      expect(page.actions, who).to.deep.equal(api.allowedEvents);
      expect(page.light).to.equal("green").and.equal(api.light);
      expect(api.deadlineRevisions).to.have.length(1);
      expect(api.deadlineRevisions[0]).to.include({ revision: 1, deadline: "2026-04-15", event: "ASSIGN", on: "2026-03-02", current: true });
      expect(page.revisions).to.deep.equal(api.deadlineRevisions.map((r: { revision: number; deadline: string }) => [r.revision, r.deadline]));
    }
    expect((await both("lead", id)).api.allowedEvents).to.include("SIGN");
  });

  it("a case warned for its deadline: the page, the API and the 台账 all show the yellow light", async () => {
    const id = await inspection(7);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
    await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
    // Two working days before the deadline the ladder's yellow warning falls due.
    w.clock.set("2026-04-13T09:00:00+08:00");
    const issued = (await new NoticeSweeper(w.service, w.clock).sweep()).issued.map((n) => n.level);
    expect(issued).to.include("yellow");
    const { api, page } = await both("lead", id);
    const listed = (await users.lead.agent.get("/api/cases").expect(200)).body.items.find((c: { id: string }) => c.id === id);
    expect(listed.light).to.equal("yellow");
    expect(api.light).to.equal("yellow");
    expect(page.light).to.equal("yellow");
  });

  it("an extension asked for a date since passed: both say so, the light turns red, and only the office decides", async () => {
    const id = await inspection(3);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-03-10" } }, w.office);
    await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
    await w.service.applyEvent(id, { type: "REQUEST_EXTENSION", payload: { deadline: "2026-03-20", reason: "雨季施工受阻" } }, w.lead);
    const before = await both("staff", id);
    expect(before.api.pendingExtension).to.deep.equal({ deadline: "2026-03-20", reason: "雨季施工受阻", requestedOn: "2026-03-02", requestedDatePassed: false });
    expect(before.html).to.not.contain("该日期已过");
    w.clock.advanceDays(25);
    const staff = await both("staff", id);
    expect(staff.api.pendingExtension.requestedDatePassed).to.equal(true);
    expect(textOf(staff.html)).to.contain("申请延期至 2026-03-20（2026-03-02 申请；理由：雨季施工受阻）。该日期已过，不能同意");
    expect(staff.page.extension).to.contain(staff.api.pendingExtension.deadline);
    expect(staff.page.actions).to.deep.equal(staff.api.allowedEvents).and.include("REJECT_EXTENSION");
    expect(staff.page.light).to.equal("red").and.equal(staff.api.light);
    const lead = await both("lead", id);
    expect(lead.page.actions).to.deep.equal(lead.api.allowedEvents).and.include("WITHDRAW_EXTENSION").and.not.include("APPROVE_EXTENSION");
  });

  it("a passed item in 公示: both give the same last day (5 working days by default, or the days the office chose)", async () => {
    const ids: string[] = [];
    for (const [n, days] of [[4, undefined], [5, 3]] as const) {
      const id = await inspection(n);
      await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
      await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
      await w.service.applyEvent(id, { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [await evidence(id, w.lead)] } }, w.lead);
      await w.service.applyEvent(id, { type: "PASS", payload: await checked(w, id, days === undefined ? {} : { publicityDays: days }) }, w.office);
      ids.push(id);
    }
    // 2026-03-02 is a Monday: five working days end on Monday 03-09, three on Thursday 03-05.
    for (const [id, ends, days] of [[ids[0]!, "2026-03-09", 5], [ids[1]!, "2026-03-05", 3]] as const) {
      for (const who of ["staff", "lead", "leader"] as const) {
        const { api, page } = await both(who, id);
        expect(api.publicity, who).to.deep.equal({ since: "2026-03-02", days, ends });
        expect(page.publicity).to.equal(`${api.publicity.since} 起，至 ${api.publicity.ends}（${api.publicity.days} 个工作日）`);
        expect(page.actions).to.deep.equal(api.allowedEvents);
      }
    }
  });

  it("a complaint with no 公示: publicity and pending extension are null in the API and absent from the page", async () => {
    const id = (await w.service.createCase(newComplaint(), w.office))._id.toString();
    await w.service.applyEvent(id, { type: "ACCEPT" }, w.office);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-03-30" } }, w.office);
    const { api, page } = await both("lead", id);
    expect(api.publicity).to.equal(null);
    expect(api.pendingExtension).to.equal(null);
    expect(page.publicity).to.equal(null);
    expect(page.extension).to.equal(null);
    expect(page.actions).to.deep.equal(api.allowedEvents).and.not.be.empty;
  });

  it("a 批示 and its 落实: the API gives the thread the page shows, to the office and to the lead unit", async () => {
    const id = await inspection(7);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } }, w.office);
    await w.service.applyEvent(id, { type: "INSTRUCT", payload: { text: "请月底前完成淘汰，逐台销号" } }, w.leader);
    for (const who of ["staff", "lead", "leader"] as const) {
      const { api, html } = await both(who, id);
      expect(api.instructions, who).to.have.length(1);
      expect(api.instructions[0], who).to.deep.include({ n: 1, text: "请月底前完成淘汰，逐台销号", notice: null, done: null });
      expect(api.instructions[0].by.id).to.equal(w.leader.id);
      expect(textOf(html)).to.contain("请月底前完成淘汰，逐台销号");
    }
    await w.service.applyEvent(id, { type: "CARRY_OUT", payload: { instruction: 1, text: "已约谈，单位承诺月底前完成" } }, w.office);
    const { api, html } = await both("lead", id);
    expect(api.instructions[0].done).to.include({ text: "已约谈，单位承诺月底前完成" });
    expect(textOf(html)).to.contain("已约谈，单位承诺月底前完成");
  });

  it("another unit's case is a 404 on both", async () => {
    const id = await inspection(6);
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.other, deadline: "2026-04-15" } }, w.office);
    await users.lead.agent.get(`/cases/${id}`).expect(404);
    await users.lead.agent.get(`/api/cases/${id}`).expect(404);
  });
});
