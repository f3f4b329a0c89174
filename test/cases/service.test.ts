import { expect } from "chai";
import mongoose from "mongoose";
import { Case, CaseHistory } from "../../src/db/models.ts";
import type { AppError } from "../../src/errors.ts";
import { verifyChain, type ChainEntry } from "../../src/cases/history.ts";
import { bigrams, gramsOf } from "../../src/cases/grams.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { CASE_KINDS } from "../../workflows/index.ts";
import { evidence, makeWorld, newComplaint, newInspection, refusal, type World } from "../support/fixtures.ts";
import { generateEdges } from "../support/paths.ts";

const historyOf = (id: unknown) => CaseHistory.find({ caseId: String(id) }).sort({ seq: 1 }).lean<ChainEntry[]>();
const chainOf = async (c: CaseDoc) => verifyChain(c, await historyOf(c._id));

describe("case service", () => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld();
  });

  async function signedInspection(n = 1) {
    const c = await w.service.createCase(newInspection(n), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline: "2026-06-30" } }, w.office);
    return (await w.service.applyEvent(id, { type: "SIGN" }, w.lead)).case;
  }

  for (const kind of CASE_KINDS) {
    it(`walks every generated ${kind} path through the ledger, history chained`, async function () {
      this.timeout(120_000);
      const at = w.clock.now().toISOString();
      const edges = generateEdges(kind, kind === "complaint" ? { receivedOn: "2026-03-02" } : {}, { ...w, units: w.units }, at);
      let n = 0;
      for (const e of edges) {
        const input = kind === "inspection" ? newInspection(++n) : newComplaint();
        const created = await w.service.createCase(input, w.office);
        const photo = await evidence(created._id.toString(), w.lead);
        let current = created;
        for (const c of [...e.prefix, e.command]) {
          const payload = c.payload.attachmentIds ? { ...c.payload, attachmentIds: [photo] } : c.payload;
          current = (await w.service.applyEvent(created._id.toString(), { type: c.type, payload, expectedVersion: current.version }, c.actor)).case;
        }
        expect(current.state, `${e.from} --${e.command.type}--> ${e.to}`).to.equal(e.to);
        expect(current.version).to.equal(e.prefix.length + 2);
        expect(await chainOf(current)).to.deep.equal({ ok: true, length: current.version });
      }
    });
  }

  it("records actor, role, unit, time, states, payload and deadline revision in each entry", async () => {
    const c = await signedInspection();
    const [create, assign, sign] = await historyOf(c._id);
    expect(create).to.include({ seq: 1, type: "CREATE", from: null, to: "registered", deadlineRevision: 0 });
    expect(assign).to.include({ seq: 2, type: "ASSIGN", from: "registered", to: "assigned", deadlineRevision: 1 });
    expect(assign!.payload).to.deep.include({ leadUnitId: w.units.lead, deadline: "2026-06-30" });
    expect(sign).to.deep.include({ type: "SIGN", from: "assigned", to: "rectifying.working" });
    expect(sign!.actor).to.deep.equal({ id: w.lead.id, name: w.lead.name, role: "unit_user", unitId: w.units.lead });
    expect(sign!.at.toISOString()).to.equal(w.clock.now().toISOString());
    expect(c).to.include({ state: "rectifying.working", leadUnitId: w.units.lead, deadline: "2026-06-30", version: 3 });
  });

  it("50 concurrent conflicting events at one version: one wins, 49 conflict, history intact", async function () {
    this.timeout(60_000);
    const c = await signedInspection();
    const id = c._id.toString();
    const photo = await evidence(id, w.lead);
    const commands = Array.from({ length: 50 }, (_, i) =>
      i % 2
        ? { type: "REPORT_PROGRESS", payload: { percent: i, text: `进展 ${i}`, attachmentIds: [] }, expectedVersion: c.version }
        : { type: "SUBMIT", payload: { summary: `完成 ${i}`, attachmentIds: [photo] }, expectedVersion: c.version },
    );
    const results = await Promise.allSettled(commands.map((cmd) => w.service.applyEvent(id, cmd, w.lead)));
    const ok = results.filter((r) => r.status === "fulfilled");
    const conflicts = results.filter((r) => r.status === "rejected" && (r.reason as AppError).code === "version_conflict");
    expect(ok).to.have.length(1);
    expect(conflicts).to.have.length(49);
    const after = await Case.findById(id).lean<CaseDoc>();
    expect(after!.version).to.equal(c.version + 1);
    expect((await historyOf(id)).map((h) => h.seq)).to.deep.equal([1, 2, 3, 4]);
    expect(await chainOf(after!)).to.deep.equal({ ok: true, length: 4 });
  });

  it("50 concurrent events without an expected version never lose or duplicate an entry", async function () {
    this.timeout(60_000);
    const c = await signedInspection();
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        w.service.applyEvent(c._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: i, text: `t${i}` } }, i % 2 ? w.lead : w.co),
      ),
    );
    const ok = results.filter((r) => r.status === "fulfilled").length;
    expect(ok).to.be.greaterThan(0);
    for (const r of results) if (r.status === "rejected") expect((r.reason as AppError).code).to.equal("version_conflict");
    const after = await Case.findById(c._id).lean<CaseDoc>();
    expect(after!.version).to.equal(c.version + ok);
    expect(await chainOf(after!)).to.deep.equal({ ok: true, length: after!.version });
  });

  it("a command retried with the same idempotency key applies once", async () => {
    const c = await signedInspection();
    const id = c._id.toString();
    const cmd = { type: "REPORT_PROGRESS", payload: { percent: 30, text: "完成三成" }, idempotencyKey: "k-1" };
    const first = await w.service.applyEvent(id, cmd, w.lead);
    const again = await w.service.applyEvent(id, cmd, w.lead);
    expect(first.replayed).to.equal(false);
    expect(again.replayed).to.equal(true);
    expect(again.entry.hash).to.equal(first.entry.hash);
    expect(again.case.version).to.equal(c.version + 1);
    const reused = await refusal(w.service.applyEvent(id, { ...cmd, payload: { percent: 40, text: "x" } }, w.lead));
    expect(reused.code).to.equal("idempotency_key_reused");
  });

  it("concurrent retries of one command apply it exactly once", async () => {
    const c = await signedInspection();
    const cmd = { type: "REPORT_PROGRESS", payload: { percent: 30, text: "完成三成" }, idempotencyKey: "k-2" };
    const results = await Promise.all(Array.from({ length: 10 }, () => w.service.applyEvent(c._id.toString(), cmd, w.lead)));
    expect(results.filter((r) => !r.replayed)).to.have.length(1);
    const after = await Case.findById(c._id).lean<CaseDoc>();
    expect(after!.version).to.equal(c.version + 1);
  });

  describe("tampering with the history in the database is detected", () => {
    let id: string;
    beforeEach(async () => {
      const c = await signedInspection();
      id = c._id.toString();
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 50, text: "过半" } }, w.lead);
    });
    const check = async () => chainOf((await Case.findById(id).lean<CaseDoc>())!);
    const raw = () => CaseHistory.collection;

    it("an untouched history verifies", async () => {
      expect(await check()).to.deep.equal({ ok: true, length: 4 });
    });
    it("an edited entry", async () => {
      await raw().updateOne({ _id: `${id}:4` as never }, { $set: { "payload.percent": 90 } });
      expect(await check()).to.deep.include({ ok: false, seq: 4 });
    });
    it("an edited snapshot", async () => {
      await raw().updateOne({ _id: `${id}:3` as never }, { $set: { "snapshot.context.deadline": "2027-12-31" } });
      expect(await check()).to.deep.include({ ok: false, seq: 3 });
    });
    it("a deleted entry", async () => {
      await raw().deleteOne({ _id: `${id}:2` as never });
      expect(await check()).to.deep.include({ ok: false, seq: 2 });
    });
    it("a deleted last entry", async () => {
      await raw().deleteOne({ _id: `${id}:4` as never });
      expect(await check()).to.deep.include({ ok: false, seq: 4 });
    });
    it("an inserted entry", async () => {
      const [, , third] = await historyOf(id);
      await raw().updateMany({ caseId: id, seq: { $gte: 3 } }, { $inc: { seq: 1 } });
      await raw().insertOne({ ...third!, _id: `${id}:forged` as never, payload: { percent: 100, text: "伪造" } });
      expect((await check()).ok).to.equal(false);
    });
    it("a forged next entry is refused when the case is loaded", async () => {
      const [, , , fourth] = await historyOf(id);
      await raw().insertOne({ ...fourth!, _id: `${id}:5` as never, seq: 5, prevHash: fourth!.hash, to: "closed" });
      const e = await refusal(w.service.getCase(id, w.office));
      expect(e).to.include({ status: 500, code: "history_broken" });
    });
  });

  it("a crash between appending the entry and updating the case loses nothing", async () => {
    const c = await signedInspection();
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 60, text: "六成" } }, w.lead);
    // Put the case document back as it was before the last entry, as if the process died in between.
    await Case.collection.updateOne({ _id: new mongoose.Types.ObjectId(id) }, { $set: { version: c.version, historyHead: c.historyHead, progressPercent: 0, context: c.context } });
    const seen = await w.service.getCase(id, w.office);
    expect(seen).to.include({ version: c.version + 1, progressPercent: 60 });
    expect((await Case.findById(id).lean<CaseDoc>())!.version).to.equal(c.version + 1);
    const next = await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 70, text: "七成" }, expectedVersion: c.version + 1 }, w.lead);
    expect(next.case.version).to.equal(c.version + 2);
    expect(await chainOf(next.case)).to.deep.equal({ ok: true, length: c.version + 2 });
  });

  it("an event sent to a case a crash left behind rolls it forward first: refused as a conflict without a version, applied with the version the client saw", async () => {
    const c = await signedInspection();
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 60, text: "六成" } }, w.lead);
    const crash = () => Case.collection.updateOne({ _id: c._id }, { $set: { version: c.version, historyHead: c.historyHead, progressPercent: 0, context: c.context } });
    await crash();
    // No expected version: the append meets the unprojected entry's key; the case is brought forward.
    const e = await refusal(w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 70, text: "七成" } }, w.lead));
    expect(e).to.include({ status: 409, code: "version_conflict" });
    expect(await Case.findById(id).lean<CaseDoc>()).to.include({ version: c.version + 1, progressPercent: 60 });
    // The version of the unprojected entry, which a client can have seen before the crash: applied.
    await crash();
    const next = await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 70, text: "七成" }, expectedVersion: c.version + 1 }, w.lead);
    expect(next.case).to.include({ version: c.version + 2, progressPercent: 70 });
    expect(await chainOf(next.case)).to.deep.equal({ ok: true, length: c.version + 2 });
    // A stale version is still a conflict.
    const stale = await refusal(w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 80, text: "八成" }, expectedVersion: c.version }, w.lead));
    expect(stale).to.include({ status: 409, code: "version_conflict" });
  });

  it("an event the stale projection would refuse is judged again on the rolled-forward case", async () => {
    const c = await w.service.createCase(newInspection(), w.office);
    const id = c._id.toString();
    const assigned = (await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office)).case;
    await w.service.applyEvent(id, { type: "SIGN" }, w.lead);
    // The SIGN was appended but its projection lost: the stored case still says "assigned".
    await Case.collection.updateOne({ _id: c._id }, { $set: { version: assigned.version, historyHead: assigned.historyHead, state: assigned.state, stateValue: assigned.stateValue, context: assigned.context } });
    const r = await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 30, text: "三成" } }, w.lead);
    expect(r.case).to.include({ version: assigned.version + 2, state: "rectifying.working", progressPercent: 30 });
    expect(await chainOf(r.case)).to.deep.equal({ ok: true, length: assigned.version + 2 });
  });

  it("a unit assigned by an entry a crash left unprojected sees the case at once", async () => {
    const c = await w.service.createCase(newInspection(), w.office);
    const id = c._id.toString();
    await w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-06-30" } }, w.office);
    await Case.collection.updateOne({ _id: c._id }, { $set: { version: c.version, historyHead: c.historyHead, state: c.state, stateValue: c.stateValue, context: c.context, leadUnitId: null } });
    expect(await w.service.getCase(id, w.lead)).to.include({ version: c.version + 1, leadUnitId: w.units.lead });
    expect((await refusal(w.service.getCase(id, w.other))).status).to.equal(404);
  });

  describe("bad input is refused, naming the field, and writes nothing", () => {
    it("an unknown kind", async () => {
      const e = await refusal(w.service.createCase({ ...newInspection(), kind: "bogus" } as never, w.office));
      expect(e.status).to.equal(422);
      expect(e.details.fields).to.deep.include({ field: "kind", message: "案件类型应为 inspection（督察反馈问题）或 complaint（环境信访投诉）" });
      expect(await Case.countDocuments()).to.equal(0);
    });

    it("a new case missing its required fields", async () => {
      const e = await refusal(w.service.createCase({ kind: "inspection", title: " " } as never, w.office));
      const fields = (e.details.fields as { field: string }[]).map((f) => f.field);
      expect(fields).to.include.members(["ledgerNumber", "title", "round"]);
      expect(await Case.countDocuments()).to.equal(0);
    });

    it("missing payload fields, a past deadline, an unknown unit", async () => {
      const c = await w.service.createCase(newInspection(), w.office);
      const id = c._id.toString();
      const missing = await refusal(w.service.applyEvent(id, { type: "ASSIGN", payload: { deadline: "2026-06-30" } }, w.office));
      expect(missing.details.fields).to.deep.equal([{ field: "payload.leadUnitId", message: "请选择牵头单位" }]);
      const past = await refusal(
        w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-03-01" } }, w.office),
      );
      expect(past.details.fields).to.deep.equal([{ field: "payload.deadline", message: "整改时限不能早于今天" }]);
      const badDate = await refusal(
        w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-02-30" } }, w.office),
      );
      expect((badDate.details.fields as { field: string }[])[0]!.field).to.equal("payload.deadline");
      const unknownUnit = await refusal(
        w.service.applyEvent(id, { type: "ASSIGN", payload: { leadUnitId: "65f000000000000000000000", deadline: "2026-06-30" } }, w.office),
      );
      expect(unknownUnit.status).to.equal(422);
      expect((unknownUnit.details.fields as { field: string }[])[0]!.field).to.equal("payload.leadUnitId");
      const unknownType = await refusal(w.service.applyEvent(id, { type: "DANCE" }, w.office));
      expect((unknownType.details.fields as { field: string }[])[0]!.field).to.equal("type");
      const after = (await Case.findById(id).lean<CaseDoc>())!;
      expect(after).to.include({ version: 1, state: "registered" });
      expect(await historyOf(id)).to.have.length(1);
    });

    it("evidence that is not a file of this case", async () => {
      const a = await signedInspection(1);
      const b = await signedInspection(2);
      const foreign = await evidence(b._id.toString(), w.lead);
      for (const ids of [["65f000000000000000000000"], ["not-an-id"], [foreign]]) {
        const e = await refusal(w.service.applyEvent(a._id.toString(), { type: "SUBMIT", payload: { summary: "完成", attachmentIds: ids } }, w.lead));
        expect(e.status).to.equal(422);
        expect((e.details.fields as { field: string }[])[0]!.field).to.equal("payload.attachmentIds");
      }
      expect((await Case.findById(a._id).lean<CaseDoc>())!.state).to.equal("rectifying.working");
    });

    it("a received date in the future", async () => {
      const e = await refusal(w.service.createCase({ ...newComplaint(), receivedOn: "2026-03-03" }, w.office));
      expect(e.details.fields).to.deep.equal([{ field: "receivedOn", message: "收到日期不能晚于今天" }]);
    });
  });

  describe("who may act", () => {
    it("another unit gets not_found, for reading and for acting", async () => {
      const c = await signedInspection();
      expect((await refusal(w.service.getCase(c._id.toString(), w.other))).status).to.equal(404);
      const e = await refusal(w.service.applyEvent(c._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 1, text: "x" } }, w.other));
      expect(e.status).to.equal(404);
      expect((await refusal(w.service.getCase("not-an-id", w.office))).status).to.equal(404);
    });

    it("a leader reads but changes nothing; a unit cannot register cases", async () => {
      const c = await signedInspection();
      expect((await w.service.getCase(c._id.toString(), w.leader)).ledgerNumber).to.equal("ZY2-01");
      const e = await refusal(w.service.applyEvent(c._id.toString(), { type: "REPORT_PROGRESS", payload: { percent: 1, text: "x" } }, w.leader));
      expect(e.status).to.equal(403);
      expect((await refusal(w.service.createCase(newInspection(2), w.lead))).status).to.equal(403);
    });

    it("an event the state does not allow is a 409 naming the state and what is allowed", async () => {
      const c = await signedInspection();
      const e = await refusal(w.service.applyEvent(c._id.toString(), { type: "PASS", payload: {} }, w.office));
      expect(e.status).to.equal(409);
      expect(e.code).to.equal("event_not_allowed");
      expect(e.message).to.contain("整改中");
      expect(e.details).to.deep.equal({ state: "rectifying.working", allowedEvents: [] });
      expect(w.service.allowedEvents(c, w.lead)).to.have.members(["REPORT_PROGRESS", "SUBMIT", "REQUEST_EXTENSION"]);
    });
  });

  describe("申请销号 and a pending extension request", () => {
    it("申请销号 is refused while the unit's extension request awaits the office (409, the reason, nothing written); withdrawing is an entry of its own, then 申请销号 sets 100 %", async () => {
      const c = await signedInspection();
      const id = c._id.toString();
      await w.service.applyEvent(id, { type: "REPORT_PROGRESS", payload: { percent: 30, text: "三成" } }, w.lead);
      const pending = (await w.service.applyEvent(id, { type: "REQUEST_EXTENSION", payload: { deadline: "2026-08-31", reason: "设备未到" } }, w.lead)).case;
      const photo = await evidence(id, w.lead);
      const submit = { type: "SUBMIT", payload: { summary: "已完成", attachmentIds: [photo] } };
      const e = await refusal(w.service.applyEvent(id, submit, w.lead));
      expect(e).to.include({ status: 409, code: "event_not_allowed", message: "延期申请尚待整改办审批，不能申请销号；如已办结，请先撤回延期申请" });
      expect(e.details).to.deep.equal({ state: "rectifying.extensionPending", allowedEvents: ["REPORT_PROGRESS", "WITHDRAW_EXTENSION"], reasons: [e.message] });
      expect((await w.service.getCase(id, w.office)).version).to.equal(pending.version);
      expect(w.service.blockedEvents(pending, w.lead)).to.deep.equal([{ type: "SUBMIT", reasons: [e.message] }]);
      // A co-unit may not withdraw the lead unit's request; it is told so, not given the reason above.
      expect(await refusal(w.service.applyEvent(id, { type: "WITHDRAW_EXTENSION" }, w.co))).to.include({ status: 403 });
      const withdrawn = await w.service.applyEvent(id, { type: "WITHDRAW_EXTENSION", payload: { note: "已完成整改，改为申请销号" } }, w.lead);
      expect(withdrawn.entry).to.deep.include({ type: "WITHDRAW_EXTENSION", from: "rectifying.extensionPending", to: "rectifying.working", payload: { note: "已完成整改，改为申请销号" } });
      expect(withdrawn.case).to.include({ deadline: "2026-06-30", deadlineRevision: 1 });
      const submitted = (await w.service.applyEvent(id, submit, w.lead)).case;
      expect(submitted).to.include({ state: "verifying", progressPercent: 100 });
      expect((await historyOf(id)).map((h) => h.type)).to.deep.equal(["CREATE", "ASSIGN", "SIGN", "REPORT_PROGRESS", "REQUEST_EXTENSION", "WITHDRAW_EXTENSION", "SUBMIT"]);
    });
  });

  describe("ledger numbers", () => {
    it("complaints get XF-YYYY-NNNNNN, distinct under concurrent registration", async () => {
      const made = await Promise.all(Array.from({ length: 20 }, () => w.service.createCase(newComplaint(), w.office)));
      const numbers = made.map((c) => c.ledgerNumber).sort();
      expect(numbers[0]).to.equal("XF-2026-000001");
      expect(new Set(numbers).size).to.equal(20);
      expect(numbers.at(-1)).to.equal("XF-2026-000020");
    });

    it("an inspection item keeps its list number, which is unique", async () => {
      await w.service.createCase(newInspection(7), w.office);
      const e = await refusal(w.service.createCase(newInspection(7), w.office));
      expect(e).to.include({ status: 409, code: "duplicate" });
      expect(await Case.countDocuments()).to.equal(1);
    });

    it("keeps the complainant out of the history", async () => {
      const c = await w.service.createCase(newComplaint(), w.office);
      expect(c.complainant).to.deep.include({ name: "李四" });
      expect(JSON.stringify(await historyOf(c._id))).to.not.contain("李四").and.not.contain("13800000000");
    });
  });

  describe("registering in bulk (createCases)", () => {
    // What differs between two registrations of the same input: the id, and the hashes chained from it; the number and its search bigrams.
    const own = ({ _id, historyHead, ledgerNumber, grams, ...rest }: Record<string, unknown>) => rest;

    it("writes each case and first entry as createCase does", async () => {
      // Fields given as undefined (as the importer gives an empty cell) are left out, as create() leaves them out.
      const inspection = (n: number) => ({ ...newInspection(n), source: undefined, goal: undefined, plannedDeadline: undefined });
      const note = { file: "list.xlsx", row: 2, sheet: undefined };
      const single = [
        await w.service.createCase(inspection(1), w.office, { entryType: "IMPORT", entryNote: note }),
        await w.service.createCase(newComplaint(), w.office),
      ];
      const r = await w.service.createCases([{ input: inspection(2), opts: { entryType: "IMPORT", entryNote: note } }, { input: newComplaint() }], w.office);
      expect(r).to.deep.equal({ created: 2, failed: null });
      const singleIds = new Set(single.map((c) => c._id.toString()));
      const bulk = (await Case.find().sort({ kind: -1 }).lean<CaseDoc[]>()).filter((c) => !singleIds.has(c._id.toString()));
      expect(bulk.map((c) => c.ledgerNumber)).to.deep.equal(["ZY2-02", "XF-2026-000002"]);
      for (const [i, c] of bulk.entries()) {
        const one = (await Case.findById(single[i]!._id).lean<CaseDoc>())!;
        expect(own(c)).to.deep.equal(own(one));
        expect(c.grams).to.deep.equal(gramsOf(c)).and.include.members(bigrams(c.ledgerNumber));
        expect(await chainOf(c)).to.deep.equal({ ok: true, length: 1 });
        const [entry] = await historyOf(c._id);
        const [oneEntry] = await historyOf(one._id);
        const { _id: _a, caseId: _b, prevHash: _c, hash: _d, payload, ...rest } = entry!;
        const { _id: _e, caseId: _f, prevHash: _g, hash: _h, payload: onePayload, ...oneRest } = oneEntry!;
        expect(rest).to.deep.equal(oneRest);
        expect(own(payload as Record<string, unknown>)).to.deep.equal(own(onePayload as Record<string, unknown>));
      }
    });

    it("stops at an item that fails: the ones before it are in, the rest are not, and no entry is left without its case", async () => {
      await w.service.createCase(newInspection(3), w.office);
      const r = await w.service.createCases([1, 2, 3, 4].map((n) => ({ input: newInspection(n) })), w.office);
      expect(r.created).to.equal(2);
      expect(r.failed!.index).to.equal(2);
      expect(r.failed!.error).to.include({ status: 409, code: "duplicate" });
      expect((await Case.find().lean<CaseDoc[]>()).map((c) => c.ledgerNumber).sort()).to.deep.equal(["ZY2-01", "ZY2-02", "ZY2-03"]);
      expect(await CaseHistory.countDocuments()).to.equal(3);
    });

    it("refuses a unit, writing nothing", async () => {
      const r = await w.service.createCases([{ input: newInspection(1) }], w.lead);
      expect(r.created).to.equal(0);
      expect(r.failed!.error).to.include({ status: 403 });
      expect(await CaseHistory.countDocuments()).to.equal(0);
    });
  });
});
