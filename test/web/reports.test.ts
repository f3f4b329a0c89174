/**
 * The 考评 and 通报 pages over HTTP: every figure links to the notices and cases behind it, and a unit
 * sees its own figures only, whatever it asks for.
 */
import { expect } from "chai";
import { addCalendarDays, startOfDay, type Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { makeWorld, newInspection, type World } from "../support/fixtures.ts";
import { makeUsers, signIn, testApp, type Signed } from "../support/http.ts";

const cal = new WorkCalendar();
/** Attribute values as a browser reads them. */
const decoded = (html: string) => html.replaceAll("&#x3D;", "=").replaceAll("&amp;", "&");
const beforeWorkdays = (date: string, n: number) => startOfDay(cal.addWorkdays(date, -n));

describe("考评 and 通报 pages", function () {
  this.timeout(60_000);
  let w: World;
  let t: ReturnType<typeof testApp>;
  let as: Record<"staff" | "leader" | "lead" | "co" | "other", Signed>;
  const cases: CaseDoc[] = [];

  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);

  before(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
    await makeUsers(w);
    t = testApp(w);
    // Two items of 市生态环境局 (lead), one of 市水务局 (co); every one late at the end of April.
    for (const [n, unit, actor] of [[1, w.units.lead, w.lead], [2, w.units.lead, w.lead], [3, w.units.co, w.co]] as const) {
      let c = await w.service.createCase(newInspection(n), w.office);
      c = await apply(c, "ASSIGN", w.office, { leadUnitId: unit, coUnitIds: [], deadline: "2026-04-30" });
      c = await apply(c, "SIGN", actor);
      cases.push(await apply(c, "REPORT_PROGRESS", actor, { percent: 95, text: "收尾" }));
    }
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (const at of [beforeWorkdays("2026-04-30", 5), beforeWorkdays("2026-04-30", 2), startOfDay("2026-05-01")]) {
      w.clock.set(at);
      await sweeper.sweep();
    }
    w.clock.set(startOfDay(addCalendarDays("2026-05-01", 20)));
    as = {
      staff: await signIn(t.app, "staff"),
      leader: await signIn(t.app, "leader"),
      lead: await signIn(t.app, "lead"),
      co: await signIn(t.app, "co"),
      other: await signIn(t.app, "other"),
    };
  });
  after(() => t.close());

  it("the scorecard links each figure to the notices and cases behind it", async () => {
    const page = await as.staff.agent.get("/scorecard?from=2026-01-01&to=2026-12-31");
    expect(page.status).to.equal(200);
    expect(page.text).to.contain("只计责任单位办理案件期间").and.contain("市生态环境局").and.contain("市水务局").and.contain("应专函督办");
    // 市生态环境局: two yellows and two reds, −3 in all; its 黄色预警 count links to its yellow notices.
    const yellowLink = new RegExp(`href="(/scorecard\\?from=2026-01-01&to=2026-12-31&unit=${w.units.lead}&level=yellow#lines)">2<`).exec(decoded(page.text));
    expect(yellowLink, "a link on the count of yellows").to.not.equal(null);
    const lines = await as.staff.agent.get(yellowLink![1]!);
    expect(lines.text).to.contain("市生态环境局：扣分明细（黄色预警）");
    for (const c of cases.slice(0, 2)) expect(lines.text).to.contain(`href="/cases/${c._id.toString()}"`).and.contain(c.ledgerNumber);
    expect(lines.text).to.not.contain(`href="/cases/${cases[2]!._id.toString()}"`);
    expect(lines.text.match(/href="\/notices\/[^"]+\/print"/g)).to.have.length(2);
    expect(page.text).to.contain("2026年第二季度");
  });

  it("a unit sees its own figures only, even when it names another unit; bad dates are refused in Chinese", async () => {
    const own = await as.co.agent.get(`/scorecard?unit=${w.units.lead}`);
    expect(own.status).to.equal(200);
    expect(own.text).to.contain("市水务局").and.not.contain("市生态环境局").and.not.contain(cases[0]!.ledgerNumber);
    const api = await as.co.agent.get(`/api/scorecard?unit=${w.units.lead}&from=2026-01-01&to=2026-12-31`);
    expect(api.body.units.map((u: { unitName: string }) => u.unitName)).to.deep.equal(["市水务局"]);
    expect(api.body.units[0].points).to.equal(-1.5);
    const none = await as.other.agent.get("/api/scorecard");
    expect(none.body.units).to.deep.equal([]);
    const bad = await as.staff.agent.get("/scorecard?from=2026-13-01");
    expect(bad.status).to.equal(422);
    expect(bad.text).to.contain("起始日期应为有效日期");
  });
});
