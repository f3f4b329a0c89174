/**
 * The 考评 and 通报 pages over HTTP: every figure links to the notices and cases behind it, and a unit
 * sees its own figures only, whatever it asks for.
 */
import { expect } from "chai";
import type { Response } from "superagent";
import { addCalendarDays, startOfDay, type Actor } from "../../workflows/index.ts";
import { WorkCalendar } from "../../src/calendar/workdays.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { useApp, walk, type Client } from "../support/app.ts";
import type { World } from "../support/fixtures.ts";
import { readXlsx } from "../io/support.ts";

/** supertest: the body as a Buffer (for .xlsx downloads). */
const binary = (res: Response, cb: (err: Error | null, body: Buffer) => void) => {
  const chunks: Buffer[] = [];
  res.on("data", (c: Buffer) => chunks.push(c));
  res.on("end", () => cb(null, Buffer.concat(chunks)));
};

const cal = new WorkCalendar();
/** Attribute values as a browser reads them. */
const decoded = (html: string) => html.replaceAll("&#x3D;", "=").replaceAll("&amp;", "&");
const beforeWorkdays = (date: string, n: number) => startOfDay(cal.addWorkdays(date, -n));

describe("考评 and 通报 pages", function () {
  this.timeout(60_000);
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", once: true });
  let w: World;
  let as: Record<"staff" | "leader" | "lead" | "co" | "other", Client>;
  const cases: CaseDoc[] = [];

  const apply = (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    w.service.applyEvent(c._id.toString(), { type, payload }, actor).then((r) => r.case);

  before(async () => {
    w = t.w;
    // Two items of 市生态环境局 (lead), one of 市水务局 (co); every one late at the end of April.
    for (const [n, unit] of [[1, "lead"], [2, "lead"], [3, "co"]] as const) {
      const c = await walk(w, "inspection", "rectifying.working", { n, unit, deadline: "2026-04-30" });
      cases.push(await apply(c, "REPORT_PROGRESS", w[unit], { percent: 95, text: "收尾" }));
    }
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (const at of [beforeWorkdays("2026-04-30", 5), beforeWorkdays("2026-04-30", 2), startOfDay("2026-05-01")]) {
      w.clock.set(at);
      await sweeper.sweep();
    }
    w.clock.set(startOfDay(addCalendarDays("2026-05-01", 20)));
    as = {
      staff: await t.signIn("staff"),
      leader: await t.signIn("leader"),
      lead: await t.signIn("lead"),
      co: await t.signIn("co"),
      other: await t.signIn("other"),
    };
  });

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

  it("the 通报 page: every unit ranked with links to the cases and notices behind each number; printable on A4", async () => {
    const page = await as.leader.agent.get("/bulletin?month=2026-04");
    expect(page.status).to.equal(200);
    expect(page.text).to.contain("2026年4月整改工作情况通报").and.contain("size: A4 landscape").and.contain("市生态环境局").and.contain("市水务局");
    expect(page.text).to.contain("全市2个责任单位共承办督察整改和信访案件3件");
    const html = decoded(page.text);
    const held = new RegExp(`href="(/bulletin/trace\\?month=2026-04&draft=true&unit=${w.units.lead}&figure=held)">2<`).exec(html);
    expect(held, "a link on the cases held").to.not.equal(null);
    expect(html).to.contain(`/scorecard?from=2026-04-01&to=2026-04-30&unit=${w.units.lead}&level=yellow#lines`);
    const traced = await as.leader.agent.get(held![1]!);
    expect(traced.status).to.equal(200);
    for (const c of cases.slice(0, 2)) expect(traced.text).to.contain(`href="/cases/${c._id.toString()}"`);
    expect(traced.text).to.not.contain(`href="/cases/${cases[2]!._id.toString()}"`);
    expect((await as.staff.agent.get("/bulletin?month=2026-13")).status).to.equal(422);
    expect((await as.staff.agent.get("/bulletin/trace?month=2026-04&figure=all")).status).to.equal(422);
  });

  it("a unit's 通报 holds its own row, rank and the city's totals; its traces and its workbook only its own cases", async () => {
    const page = await as.co.agent.get("/bulletin?month=2026-04");
    expect(page.text).to.contain("市水务局").and.contain("在全市2个责任单位中排名第").and.not.contain("市生态环境局");
    const traced = await as.co.agent.get(`/bulletin/trace?month=2026-04&unit=${w.units.lead}&figure=held`);
    expect(traced.text).to.contain(cases[2]!.ledgerNumber).and.not.contain(`href="/cases/${cases[0]!._id.toString()}"`);
    const api = await as.co.agent.get(`/api/bulletin/cases?month=2026-04&unit=${w.units.lead}&figure=held`);
    expect(api.body.items.map((c: { id: string }) => c.id)).to.deep.equal([cases[2]!._id.toString()]);
    const book = await readXlsx((await as.co.agent.get("/api/exports/bulletin.xlsx?month=2026-04").buffer(true).parse(binary).expect(200)).body);
    const sheet = book.get("通报")!;
    expect(JSON.stringify([...book.values()])).to.not.contain("市生态环境局");
    expect(sheet.filter((r) => r[1] === "市水务局")).to.have.length(1);
  });

  it("the 通报 workbook has the printed layout, then the cases and notices behind the figures", async () => {
    const res = await as.staff.agent.get("/api/exports/bulletin.xlsx?month=2026-04").buffer(true).parse(binary).expect(200);
    expect(res.headers["content-disposition"]).to.contain("attachment");
    const book = await readXlsx(res.body);
    expect([...book.keys()]).to.deep.equal(["通报", "案件明细", "通知明细"]);
    const sheet = book.get("通报")!;
    expect(sheet[0]![0]).to.equal("2026年4月整改工作情况通报");
    expect(sheet[1]![0]).to.equal("草稿（未发布）：实时数字，发布前仍会变化");
    expect(String(sheet[3]![0])).to.contain("全市2个责任单位");
    const head = sheet.findIndex((r) => r[0] === "排名");
    expect(sheet[head]!.slice(0, 7)).to.deep.equal(["排名", "责任单位", "承办案件", "本月办结", "其中按期", "其中长期坚持", "超期未办结"]);
    const json = (await as.staff.agent.get("/api/bulletin?month=2026-04").expect(200)).body;
    for (const r of json.rows) expect(sheet.find((x) => x[1] === r.unitName)!.slice(2, 7)).to.deep.equal([r.held, r.closed, r.closedOnTime, r.longTerm, r.overdue]);
    const detail = book.get("案件明细")!;
    expect(detail.filter((r) => r[1] === "承办案件").length).to.equal(json.totals.held);
    expect(book.get("通知明细")!.length - 1).to.equal(json.totals.noticeTotal);
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
