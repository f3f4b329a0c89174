/**
 * Issued bulletins: 发布 numbers a month's 通报 per year (第N期), with the issuing office and the date,
 * and freezes its figures and the cases and notices behind them; later work on the ledger changes the
 * draft, never the issue. A month is issued once; a correction is a new issue naming the one it corrects.
 */
import { expect } from "chai";
import type { Actor } from "../../workflows/index.ts";
import { BulletinIssue, BulletinTrace, type CaseDoc } from "../../src/db/models.ts";
import { issueBulletin, issuesOfYear, readBulletin, readTrace } from "../../src/notices/bulletins.ts";
import { updateSettings } from "../../src/notices/settings.ts";
import { NoticeSweeper } from "../../src/notices/sweep.ts";
import { checked, evidence, makeWorld, newInspection, refusal, type World } from "../support/fixtures.ts";

describe("issued bulletins", function () {
  this.timeout(60_000);
  let w: World;
  const cases: Record<string, CaseDoc> = {};
  const apply = async (k: string, type: string, actor: Actor, payload: Record<string, unknown> = {}) => {
    cases[k] = (await w.service.applyEvent(cases[k]!._id.toString(), { type, payload }, actor)).case;
  };
  const row = (b: { rows: { unitId: string; held: number; overdue: number }[] }, unit: string) => b.rows.find((r) => r.unitId === unit);

  before(async () => {
    w = await makeWorld("2026-04-01T09:00:00+08:00");
    await updateSettings(
      { issuerMark: "某市生态环境保护督察整改办", signer: "某市整改办", contactName: "", contactPhone: "", cc: "", verificationTerm: "现场核查" },
      { ...w.office, role: "office_admin" },
    );
    for (const [k, n, unit, who, deadline] of [
      ["A", 1, w.units.lead, w.lead, "2026-05-08"],
      ["B", 2, w.units.co, w.co, "2026-05-20"],
    ] as const) {
      cases[k] = await w.service.createCase(newInspection(n), w.office);
      await apply(k, "ASSIGN", w.office, { leadUnitId: unit, coUnitIds: [], deadline });
      await apply(k, "SIGN", who);
    }
    // A asks for more time before its deadline; the office leaves it waiting past the month's end.
    w.clock.set("2026-05-05T10:00:00+08:00");
    await apply("A", "REQUEST_EXTENSION", w.lead, { deadline: "2026-07-31", reason: "设备采购周期长" });
    const sweeper = new NoticeSweeper(w.service, w.clock);
    for (const day of ["2026-05-09", "2026-05-21", "2026-05-25"]) {
      w.clock.set(`${day}T08:00:00+08:00`);
      await sweeper.sweep();
    }
    w.clock.set("2026-06-03T10:00:00+08:00");
  });

  it("发布 gives the month's 通报 第1期 of the year, the office's name from its settings and the date, and stores what it showed", async () => {
    const draft = await readBulletin(w.office, { month: "2026-05" }, w.clock.now());
    expect(draft.issue).to.equal(null);
    const issued = await issueBulletin({ month: "2026-05" }, w.office, w.clock.now());
    expect(issued).to.include({ month: "2026-05", year: "2026", number: 1, label: "2026年第1期", issuedOn: "2026-06-03", issuer: "某市生态环境保护督察整改办", signer: "某市整改办", corrects: null, correctedBy: null });
    const b = await readBulletin(w.office, { month: "2026-05" }, w.clock.now());
    expect(b.issue!.id).to.equal(issued.id);
    const { issue: _i, issues: _is, ...figures } = b;
    const { issue: _d, issues: _ds, ...live } = draft;
    expect(figures).to.deep.equal(live);
    expect([row(b, w.units.lead)!.overdue, row(b, w.units.co)!.overdue]).to.deep.equal([1, 1]);
    // Every figure's cases and every unit's notices were stored with it.
    const traced = await readTrace({ month: "2026-05" }, w.units.lead, "overdue", w.clock.now());
    expect(traced.items.map((c) => (c as { ledgerNumber: string }).ledgerNumber)).to.deep.equal(["ZY2-01"]);
    const notices = await readTrace({ month: "2026-05" }, w.units.co, "notices", w.clock.now());
    const co = b.rows.find((r) => r.unitId === w.units.co)!;
    expect(notices.items.length).to.equal(co.noticeTotal).and.be.greaterThan(0);
    expect(await BulletinTrace.countDocuments({ bulletinId: issued.id })).to.be.greaterThanOrEqual(b.rows.length * 4);
  });

  it("later work on the ledger (an old extension approved, a case closed) changes the draft, never the issued bulletin or its case lists", async () => {
    const before = JSON.stringify(await readBulletin(w.office, { month: "2026-05" }, w.clock.now()));
    const traceBefore = JSON.stringify(await readTrace({ month: "2026-05" }, w.units.lead, "overdue", w.clock.now()));
    w.clock.set("2026-06-10T10:00:00+08:00");
    await apply("A", "APPROVE_EXTENSION", w.office);
    await apply("B", "REPORT_PROGRESS", w.co, { percent: 100, text: "完成" });
    await apply("B", "SUBMIT", w.co, { summary: "完成", attachmentIds: [await evidence(cases.B!._id.toString(), w.co)] });
    await apply("B", "PASS", w.office, await checked(w, cases.B!._id.toString(), { publicityDays: 0 }));
    expect(JSON.stringify(await readBulletin(w.office, { month: "2026-05" }, w.clock.now()))).to.equal(before);
    expect(JSON.stringify(await readTrace({ month: "2026-05" }, w.units.lead, "overdue", w.clock.now()))).to.equal(traceBefore);
    // The live figures moved: the approved extension took A out of May's overdue count (the issue's complaint).
    const draft = await readBulletin(w.office, { month: "2026-05", draft: true }, w.clock.now());
    expect(draft.issue).to.equal(null);
    expect(row(draft, w.units.lead)!.overdue).to.equal(0);
    expect((await readTrace({ month: "2026-05", draft: true }, w.units.lead, "overdue", w.clock.now())).items).to.deep.equal([]);
  });

  it("a unit reads the issued bulletin cut to its own row, its rank and the city's totals", async () => {
    const all = await readBulletin(w.office, { month: "2026-05" }, w.clock.now());
    const own = await readBulletin(w.co, { month: "2026-05" }, w.clock.now());
    expect(own.issue!.id).to.equal(all.issue!.id);
    expect(own.rows.map((r) => r.unitName)).to.deep.equal(["市水务局"]);
    expect(own.rows[0]).to.deep.equal(row(all, w.units.co));
    expect(own.totals).to.deep.equal(all.totals);
    expect(own.summary).to.contain("你单位").and.contain(`在全市${all.units}个责任单位中排名第`).and.not.contain("市生态环境局");
    expect(JSON.stringify(own)).to.not.contain(w.units.lead);
    const none = await readBulletin(w.other, { month: "2026-05" }, w.clock.now());
    expect(none.rows).to.deep.equal([]);
  });

  it("a month is issued once; a correction names the current issue, says why, and takes the next number", async () => {
    const first = (await readBulletin(w.office, { month: "2026-05" }, w.clock.now())).issue!;
    const again = await refusal(issueBulletin({ month: "2026-05" }, w.office, w.clock.now()));
    expect([again.status, again.code]).to.deep.equal([409, "already_issued"]);
    expect(again.message).to.contain("已发布（2026年第1期）");
    expect((await refusal(issueBulletin({ month: "2026-05", corrects: first.id }, w.office, w.clock.now()))).message).to.contain("请填写更正说明");
    // A valid request the ledger cannot take (not that month's issue) is a conflict, not a malformed body.
    expect((await refusal(issueBulletin({ month: "2026-04", corrects: first.id, note: "x" }, w.office, w.clock.now()))).status).to.equal(409);
    const fix = await issueBulletin({ month: "2026-05", corrects: first.id, note: "ZY2-01 的延期已于5月5日申请，审批迟延，不计超期" }, w.office, w.clock.now());
    expect(fix).to.include({ number: 2, label: "2026年第2期", issuedOn: "2026-06-10" });
    expect(fix.corrects).to.deep.equal({ id: first.id, label: "2026年第1期" });
    // The month's bulletin is now the correction, with today's figures; the first stays readable, marked.
    const now = await readBulletin(w.office, { month: "2026-05" }, w.clock.now());
    expect(now.issue!.id).to.equal(fix.id);
    expect(row(now, w.units.lead)!.overdue).to.equal(0);
    const old = await readBulletin(w.office, { month: "2026-05", issue: first.id }, w.clock.now());
    expect(row(old, w.units.lead)!.overdue).to.equal(1);
    expect(old.issue!.correctedBy).to.deep.equal({ id: fix.id, label: "2026年第2期" });
    const twice = await refusal(issueBulletin({ month: "2026-05", corrects: first.id, note: "再更正" }, w.office, w.clock.now()));
    expect([twice.status, twice.code]).to.deep.equal([409, "already_corrected"]);
  });

  it("issuing at the same moment: one issue per month, numbers unique and increasing within the year, from 1 in a new year", async () => {
    const racing = await Promise.allSettled([1, 2, 3, 4].map(() => issueBulletin({ month: "2026-04" }, w.office, w.clock.now())));
    expect(racing.filter((r) => r.status === "fulfilled")).to.have.length(1);
    for (const r of racing.filter((r) => r.status === "rejected")) expect((r as PromiseRejectedResult).reason).to.include({ status: 409 });
    const months = await Promise.all(["2026-01", "2026-02", "2026-03"].map((month) => issueBulletin({ month }, w.office, w.clock.now())));
    expect(months.map((m) => m.number).sort()).to.deep.equal([4, 5, 6]);
    expect((await issuesOfYear("2026")).map((i) => i.label)).to.deep.equal([1, 2, 3, 4, 5, 6].map((n) => `2026年第${n}期`));
    // The losers of the race left no traces behind.
    const ids = new Set((await BulletinIssue.find({}, { _id: 1 }).lean()).map((d) => d._id));
    expect((await BulletinTrace.find({}, { bulletinId: 1 }).lean()).filter((t) => !ids.has(t.bulletinId))).to.deep.equal([]);
    w.clock.set("2027-01-05T10:00:00+08:00");
    expect(await issueBulletin({ month: "2026-12" }, w.office, w.clock.now())).to.include({ year: "2027", number: 1, label: "2027年第1期" });
    w.clock.set("2026-06-10T10:00:00+08:00");
  });

  it("only the office issues, and only a finished month; a refusal changes nothing", async () => {
    const count = await BulletinIssue.countDocuments({});
    for (const who of [w.leader, w.lead]) expect((await refusal(issueBulletin({ month: "2025-12" }, who, w.clock.now()))).status).to.equal(403);
    const early = await refusal(issueBulletin({ month: "2026-06" }, w.office, w.clock.now()));
    expect([early.status, early.message]).to.deep.equal([409, "2026年6月尚未结束，月度通报在月末之后发布"]);
    expect((await refusal(issueBulletin({ month: "2026-13" }, w.office, w.clock.now()))).status).to.equal(422);
    expect((await refusal(issueBulletin({ month: "2025-12", extra: 1 }, w.office, w.clock.now()))).status).to.equal(422);
    expect(await BulletinIssue.countDocuments({})).to.equal(count);
    expect((await refusal(readBulletin(w.office, { month: "2026-05", issue: "0".repeat(24) }, w.clock.now()))).status).to.equal(404);
  });
});
