/**
 * The 台账's facet counts (src/cases/counts.ts) against a full count of the ledger, after a random mix of
 * registrations, imports, events (assignments that change units, signing, returns, extensions, progress)
 * and a backup restored in the middle; a count a crash left wrong is found by verify-ledger and mended
 * by a rebuild.
 */
import { expect } from "chai";
import { stateKeys, type Actor, type CaseKind } from "../../workflows/index.ts";
import { backfillUnitIds } from "../../src/cases/backfill.ts";
import { checkCounts, rebuildCounts } from "../../src/cases/counts.ts";
import { caseFilter, facetTotal, listCases, type CaseFilter } from "../../src/cases/queries.ts";
import { Case, CaseCount } from "../../src/db/models.ts";
import { backup } from "../../src/ops/backup.ts";
import { restore } from "../../src/ops/restore.ts";
import { verifyLedger } from "../../src/ops/verify.ts";
import { AppError } from "../../src/errors.ts";
import { makeWorld, newComplaint, newInspection, type World } from "../support/fixtures.ts";
import { tempDir } from "../io/support.ts";

const CATEGORIES = ["大气", "水", "噪声"] as const;
const ROUNDS = ["中央第二轮", "回头看"];

/** A small deterministic generator: a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x80000000;
  };
}

describe("Facet counts of the 台账", () => {
  const tmp = tempDir();
  after(() => tmp.remove());
  let w: World;
  beforeEach(async () => {
    w = await makeWorld("2026-03-02T09:00:00+08:00");
  });

  /**
   * Every total the counts answer (office and each unit × kind × state × unit filter, plainly and by each
   * category and round, these with fewer states to keep it short), against a count of the cases.
   */
  async function compareAll(): Promise<number> {
    const now = w.clock.now();
    const kinds: (CaseKind | undefined)[] = [undefined, "inspection", "complaint"];
    const states = [undefined, ...new Set([...stateKeys("inspection"), ...stateKeys("complaint")])];
    const units = [undefined, w.units.lead, w.units.co, w.units.other];
    const by: CaseFilter[] = [{}, ...CATEGORIES.map((category) => ({ category })), ...ROUNDS.map((round) => ({ round }))];
    let compared = 0;
    for (const actor of [w.office, w.lead, w.co, w.other] as Actor[])
      for (const kind of kinds)
        for (const facet of by)
          for (const state of Object.keys(facet).length ? states.slice(0, 4) : states)
          for (const unit of units) {
            const f: CaseFilter = { kind, state, unit, ...facet };
            const counted = await facetTotal(actor, f);
            // A unit filtering by another unit is no facet: counted in full, not from the counts.
            if (counted === null) continue;
            const full = await Case.countDocuments(caseFilter(actor, f, now));
            expect(counted, `${actor.name}, ${JSON.stringify(f)}`).to.equal(full);
            compared++;
          }
    return compared;
  }

  it("equal a full count after a random mix of registrations, imports, events and a restore", async function () {
    this.timeout(300_000);
    const next = random(23);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const unitActor = (id: string) => [w.lead, w.co, w.other].find((a) => a.unitId === id)!;
    const ids: string[] = [];
    let n = 0;
    const inspection = () => ({ ...newInspection(++n), category: pick(CATEGORIES), round: pick(ROUNDS) });
    const register = async () => {
      const c = next() < 0.6 ? await w.service.createCase(inspection(), w.office) : await w.service.createCase({ ...newComplaint(), category: pick(CATEGORIES) }, w.office);
      ids.push(c._id.toString());
    };
    const importSome = async () => {
      const items = Array.from({ length: 3 }, () => ({ input: inspection(), opts: { entryType: "IMPORT" } }));
      const before = await Case.countDocuments();
      const r = await w.service.createCases(items, w.office);
      expect(r.failed).to.equal(null);
      ids.push(...(await Case.find({}, { _id: 1 }).sort({ _id: -1 }).limit(r.created).lean()).map((c) => c._id.toString()));
      expect(await Case.countDocuments()).to.equal(before + 3);
    };
    /** One event on a random case: what the case allows, with a payload that fits; a refusal is part of the mix. */
    const act = async () => {
      const id = pick(ids);
      const c = await w.service.getCase(id, w.office);
      const units = [w.units.lead, w.units.co, w.units.other];
      const lead = pick(units);
      const co = units.filter((u) => u !== lead && next() < 0.4);
      const deadline = `2026-0${4 + Math.floor(next() * 5)}-15`;
      const holder = c.leadUnitId ? unitActor(c.leadUnitId) : w.office;
      const menu: [string, Actor, Record<string, unknown>][] = [
        ["ACCEPT", w.office, {}],
        ["ASSIGN", w.office, { leadUnitId: lead, coUnitIds: co, deadline }],
        ["SIGN", holder, {}],
        ["RETURN", holder, { reason: "不属于本单位职责" }],
        ["REPORT_PROGRESS", holder, c.kind === "inspection" ? { percent: Math.floor(next() * 100), text: "推进中" } : { text: "推进中" }],
        ["REQUEST_EXTENSION", holder, { deadline: "2026-12-31", reason: "设备未到" }],
        ["APPROVE_EXTENSION", w.office, {}],
        ["REJECT_EXTENSION", w.office, { reason: "理由不足" }],
      ];
      const [type, actor, payload] = pick(menu);
      try {
        await w.service.applyEvent(id, { type, payload }, actor);
      } catch (e) {
        if (!(e instanceof AppError) || e.status >= 500) throw e;
      }
    };

    for (let i = 0; i < 12; i++) await register();
    let file = "";
    for (let step = 0; step < 220; step++) {
      const r = next();
      if (r < 0.08) await register();
      else if (r < 0.12) await importSome();
      else await act();
      w.clock.set(new Date(w.clock.now().getTime() + 3600_000));
      if (step === 110) file = (await backup(tmp.path("mid.tar.gz"))).file;
    }
    expect(await compareAll()).to.be.above(100);
    // Back to the ledger of the backup: the counts follow the restored cases, then the mix goes on.
    await restore(file, { force: true });
    const restored = new Set((await Case.find({}, { _id: 1 }).lean()).map((c) => c._id.toString()));
    ids.splice(0, ids.length, ...ids.filter((id) => restored.has(id)));
    expect(await compareAll()).to.be.above(100);
    for (let step = 0; step < 80; step++) {
      if (next() < 0.1) await register();
      else await act();
      w.clock.set(new Date(w.clock.now().getTime() + 3600_000));
    }
    expect(await compareAll()).to.be.above(100);
    const states = new Set((await Case.find({}, { state: 1 }).lean()).map((c) => c.state));
    expect(states.size, [...states].join(", ")).to.be.at.least(4);
    expect((await verifyLedger({ settleMs: 0 })).counts.problems).to.deep.equal([]);
  });

  it("a count a crash left behind (the case written, its count not) is named by verify-ledger and mended by a rebuild", async () => {
    const a = await w.service.createCase(newInspection(1), w.office);
    await w.service.createCase(newInspection(2), w.office);
    // The case moved as the service would move it, but the counts were never told.
    await Case.collection.updateOne({ _id: a._id }, { $set: { leadUnitId: w.units.lead, unitIds: [w.units.lead], state: "assigned" } });
    const report = await verifyLedger({ settleMs: 0 });
    expect(report.ok).to.equal(false);
    const keys = ["*|inspection|registered", "*|inspection|assigned", `${w.units.lead}|inspection|assigned`];
    expect(report.counts.problems.map((p) => p.key)).to.have.members(["", "|c:大气", "|r:中央第二轮"].flatMap((facet) => keys.map((k) => k + facet)));
    // Counts kept before the facets existed have none: the rebuild (a migration at start) gives them theirs.
    await CaseCount.collection.updateMany({ _id: /^[^|]*\|[^|]*\|[^|]*$/ }, { $unset: { facet: "" } });
    expect(await facetTotal(w.office, {})).to.equal(2);
    expect(await rebuildCounts()).to.be.above(0);
    expect(await CaseCount.countDocuments({ facet: "" })).to.be.above(0);
    expect((await checkCounts(0)).problems).to.deep.equal([]);
    expect(await compareAll()).to.be.above(10);
  });

  it("a list's total: exact from the counts for kind, state, unit and a category or round; counted up to a cap for a search, and exact below it", async () => {
    for (let i = 1; i <= 5; i++) await w.service.createCase(newInspection(i), w.office);
    const now = w.clock.now();
    const paging = { page: 1, pageSize: 2, sort: "ledgerNumber" as const };
    expect(await listCases(w.office, { kind: "inspection" }, paging, now)).to.deep.include({ total: 5, totalCapped: false, pages: 3 });
    expect(await facetTotal(w.office, { category: "大气" })).to.equal(5);
    expect(await facetTotal(w.office, { round: "中央第二轮", kind: "inspection" })).to.equal(5);
    // A category and a round at once is no facet (a case is counted under each apart): counted.
    expect(await facetTotal(w.office, { category: "大气", round: "中央第二轮" })).to.equal(null);
    expect(await listCases(w.office, { category: "大气", round: "中央第二轮" }, paging, now)).to.deep.include({ total: 5, totalCapped: false });
    const searched = await listCases(w.office, { q: "ZY2-0" }, paging, now);
    expect(searched).to.deep.include({ total: 5, totalCapped: false, pages: 3 });
    expect(await listCases(w.lead, {}, paging, now)).to.deep.include({ total: 0, totalCapped: false, pages: 1 });
  });
});

describe("unitIds: the lead and co-units in one field", () => {
  it("is projected on every event, and written by the migration onto cases stored before it, which their units then see", async () => {
    const w = await makeWorld("2026-03-02T09:00:00+08:00");
    const c = await w.service.createCase(newInspection(1), w.office);
    const id = c._id.toString();
    const assigned = await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline: "2026-06-30" } }, w.office);
    expect(assigned.case.unitIds).to.deep.equal([w.units.lead, w.units.co]);
    expect((await Case.findById(id).lean())!.unitIds).to.deep.equal([w.units.lead, w.units.co]);
    // A case as stored before the field existed.
    await Case.collection.updateOne({ _id: c._id }, { $unset: { unitIds: "" } });
    const page = { page: 1, pageSize: 20, sort: "-updatedAt" as const };
    expect((await listCases(w.co, {}, page, w.clock.now())).items).to.have.length(0);
    expect(await backfillUnitIds()).to.equal(1);
    expect(await backfillUnitIds()).to.equal(0);
    for (const unit of [w.lead, w.co]) expect((await listCases(unit, {}, page, w.clock.now())).items.map((x) => x._id.toString())).to.deep.equal([id]);
    expect((await listCases(w.other, {}, page, w.clock.now())).items).to.have.length(0);
    expect((await listCases(w.office, { unit: w.units.co }, page, w.clock.now())).total).to.equal(1);
  });
});
