/**
 * Every query on a hot path reads through an index: each ledger filter and sort, for the office and a
 * unit; the sweep's due and changed-cases queries; the inbox; a case's history and idempotency keys;
 * notice numbering; sessions. The queries are the product's own builders, explained on a ledger of
 * realistic size with the statistics a running server has. A plan that reads the whole collection fails.
 */
import { expect } from "chai";
import mongoose from "mongoose";
import { LEVELS, LEVEL_RANK, type Actor } from "../../workflows/index.ts";
import { ALL_UNITS, countsQuery, facetOf, rebuildCounts } from "../../src/cases/counts.ts";
import { statesFor as statesOf } from "../../src/cases/figures.ts";
import { SORTS, caseKeysQuery, caseListQuery, type CaseFilter } from "../../src/cases/queries.ts";
import { entryByKeyQuery, historyQuery } from "../../src/cases/history-store.ts";
import { Case, CaseHistory, CaseSchedule, Notice, NoticeDelivery, Sequence, Session, lastSeqQuery, seqTakenQuery } from "../../src/db/models.ts";
import { WATCHED_DELIVERY_STATES, deliveryCountQuery } from "../../src/metrics.ts";
import { NOTICE_SORTS, noticeFilter, noticeListQuery, type NoticeFilter } from "../../src/notices/inbox.ts";
import { CHANNELS, unnumberedQuery } from "../../src/notices/issuer.ts";
import { bulletinCasesQuery } from "../../src/notices/bulletin.ts";
import { officeHeldQuery } from "../../src/notices/office-queue.ts";
import { AWAITING, awaitingCountQuery, awaitingQuery } from "../../src/cases/worklists.ts";
import { scoredNoticesQuery } from "../../src/notices/scorecard.ts";
import { changedCases, dueSchedules } from "../../src/notices/sweep.ts";
import { resetLedger } from "../support/fixtures.ts";
import { refreshStatistics, summarize } from "../support/plans.ts";
import { insertSyntheticCases } from "../support/synthetic.ts";

const N = 10_000;
const DAY = 86_400_000;

describe("Query plans: hot queries read through an index", function () {
  this.timeout(120_000);
  const now = new Date();
  const units = Array.from({ length: 20 }, () => new mongoose.Types.ObjectId().toString());
  const office: Actor = { id: "office-1", name: "整改办", role: "office_staff", unitId: null };
  const unit: Actor = { id: "unit-1", name: "联络员", role: "unit_user", unitId: units[3]! };
  let caseIds: string[] = [];

  before(async () => {
    await resetLedger();
    await Session.deleteMany({});
    await insertSyntheticCases(Case.collection, N, { units, now });
    caseIds = (await Case.find({}, { _id: 1 }).limit(200).lean()).map((c) => c._id.toString());
    const ids = (await Case.find({}, { _id: 1 }).lean()).map((c) => c._id.toString());
    await CaseSchedule.collection.insertMany(
      ids.map((id, i) => ({ _id: id, nextAt: i % 5 ? new Date(now.getTime() + ((i * 7919) % 365) * DAY) : null, version: 1, problem: null, computedAt: now })) as never[],
    );
    await CaseHistory.collection.insertMany(
      ids.flatMap((id) =>
        [1, 2].map((seq) => ({ _id: `${id}:${seq}`, caseId: id, seq, type: "X", actor: { id: "a" }, at: now, from: null, to: "x", payload: {}, deadlineRevision: 0, prevHash: "0", hash: "0", snapshot: {} })),
      ) as never[],
    );
    await Notice.collection.insertMany(
      ids.map((id, i) => {
        const u = units[i % units.length]!;
        return { _id: `${id}-n`, caseId: id, kind: "inspection", ledgerNumber: `N-${i}`, caseTitle: "t", level: LEVELS[i % LEVELS.length], severity: LEVEL_RANK[LEVELS[i % LEVELS.length]!], revision: 1, unitId: u, holder: i % 9 ? "unit" : "office", supersededBy: null, inbox: i % 9 ? (i % 7 ? u : null) : "office", issuedAt: new Date(now.getTime() - (i % 400) * DAY), dueAt: now, issuedBy: { id: "system" }, readAt: i % 3 ? now : null, ackAt: null };
      }) as never[],
    );
    // Deliveries: most sent or skipped long ago, a few pending or failed (what metrics count and the worker queues again).
    for (const [k, channel] of CHANNELS.entries())
      await NoticeDelivery.collection.insertMany(
        ids.map((id, i) => ({
          _id: `${id}-n:${channel}`,
          noticeId: `${id}-n`,
          channel,
          unitId: units[i % units.length],
          status: (i + k) % 97 === 0 ? "pending" : (i + k) % 89 === 0 ? "failed" : k === 0 ? "sent" : "skipped",
          attempts: 1,
        })) as never[],
      );
    await Sequence.collection.insertMany(Array.from({ length: 3000 }, (_, i) => ({ _id: `supervision-${2024 + (i % 3)}:${i + 1}`, name: `supervision-${2024 + (i % 3)}`, n: i + 1, ref: `notice-${i}` })) as never[]);
    await Session.collection.insertMany(
      Array.from({ length: 5000 }, (_, i) => ({ _id: `sid-${i}`, expires: new Date(now.getTime() + ((i % 48) - 8) * 3600_000), session: { userId: `user-${i % 300}` } })) as never[],
    );
    await refreshStatistics();
  });
  after(async () => {
    await resetLedger();
    await Session.deleteMany({});
  });

  /** Explains each labelled query; returns the labels whose plan read the whole collection, with the plan. */
  async function scans(queries: [string, { explain(): Promise<unknown> }][]): Promise<string[]> {
    const out: string[] = [];
    for (const [label, q] of queries) {
      const plan = summarize(await q.explain());
      if (plan.collectionScan || !plan.indexes.length) out.push(`${label}: ${plan.nodes.join(" > ")} [${plan.indexes.join(", ")}]`);
    }
    return out;
  }

  const FILTERS: Record<string, CaseFilter> = {
    "no filter": {},
    kind: { kind: "complaint" },
    state: { state: "rectifying" },
    unit: { unit: units[5] },
    category: { category: "水" },
    round: { round: "回头看" },
    overdue: { overdue: true },
    "behind schedule": { behindSchedule: true },
    search: { q: "锅炉" },
    ...Object.fromEntries(AWAITING.map((g) => [`awaiting ${g}`, { awaiting: g }])),
    "deadline range": { deadlineFrom: new Date(now.getTime() + 30 * DAY).toISOString().slice(0, 10), deadlineTo: new Date(now.getTime() + 60 * DAY).toISOString().slice(0, 10) },
  };

  it("a page of the ledger, for every filter and sort, as the office and as a unit", async () => {
    const queries: [string, ReturnType<typeof caseListQuery>["page"]][] = [];
    for (const [who, actor] of [["office", office], ["unit", unit]] as const)
      for (const [name, f] of Object.entries(FILTERS))
        for (const sort of SORTS) queries.push([`${who}, ${name}, ${sort}`, caseListQuery(actor, f, { page: 1, pageSize: 50, sort }, now).page]);
    // A search that names units (by name, short name or alias) also finds their cases.
    for (const [who, actor] of [["office", office], ["unit", unit]] as const)
      for (const sort of SORTS) queries.push([`${who}, search by unit, ${sort}`, caseListQuery(actor, { q: "水务" }, { page: 1, pageSize: 50, sort }, now, [units[5]!, units[6]!]).page]);
    expect(await scans(queries)).to.deep.equal([]);
  });

  it("the count behind a page, and the keys a page among few matches is chosen from, for every filter that narrows the ledger", async () => {
    // A count over most of the ledger (the office's whole ledger, a third of it by kind, one category or
    // round of several, a word found in titles all over) reads most of it whatever the engine: PostgreSQL
    // rightly reads the table then. Every filter that narrows the ledger counts through an index, and so
    // is the read of its matches' ids and sort keys (listCases' page among few matches).
    const narrowing = ["state", "unit", "overdue", "behind schedule", "deadline range", ...AWAITING.map((g) => `awaiting ${g}`)];
    const queries: [string, { explain(): Promise<unknown> }][] = [];
    const filterOf = (actor: Actor, f: CaseFilter) => caseListQuery(actor, f, { page: 1, pageSize: 50, sort: "-updatedAt" }, now).filter;
    for (const name of narrowing) queries.push([`office, ${name}`, Case.find(filterOf(office, FILTERS[name]!))]);
    for (const [name, f] of Object.entries(FILTERS)) queries.push([`unit, ${name}`, Case.find(filterOf(unit, f))]);
    for (const [name, f] of Object.entries(FILTERS)) queries.push([`unit, ${name}, keys by deadline`, caseKeysQuery(filterOf(unit, f), "deadline")]);
    expect(await scans(queries)).to.deep.equal([]);
  });

  it("the search reads its candidates through the bigram index: its count and the keys of a page among few matches, for common and rare words, as the office and as a unit", async () => {
    // A page among many matches walks a sort's index instead, checking each case as it goes (the first test).
    const offGrams: string[] = [];
    const check = async (label: string, q: { explain(): Promise<unknown> }) => {
      const plan = summarize(await q.explain());
      if (plan.collectionScan || !plan.indexes.includes("grams_1")) offGrams.push(`${label}: ${plan.nodes.join(" > ")} [${plan.indexes.join(", ")}]`);
    };
    for (const [who, actor] of [["office", office], ["unit", unit]] as const) {
      for (const q of ["锅炉", "问题1234", "西山村污水"]) {
        const { filter } = caseListQuery(actor, { q }, { page: 1, pageSize: 50, sort: "-updatedAt" }, now);
        await check(`${who}, ${q}, count`, Case.find(filter));
        await check(`${who}, ${q}, keys by deadline`, caseKeysQuery(filter, "deadline"));
      }
    }
    expect(offGrams).to.deep.equal([]);
  });

  it("the 台账's facet counts: a unit's or all units' counts of a kind and states, plainly or of a category or round, as a total reads them", async () => {
    await rebuildCounts();
    await refreshStatistics();
    const states = statesOf("rectifying", "inspection");
    expect(
      await scans([
        ["all units", countsQuery(ALL_UNITS, undefined, undefined)],
        ["one unit, a kind", countsQuery(units[3]!, "complaint", undefined)],
        ["one unit, a kind and states", countsQuery(units[3]!, "inspection", states)],
        ["all units, states", countsQuery(ALL_UNITS, undefined, states)],
        ["all units, a category", countsQuery(ALL_UNITS, undefined, undefined, facetOf({ category: "水" }))],
        ["one unit, a kind, states and a round", countsQuery(units[3]!, "inspection", states, facetOf({ round: "回头看" }))],
      ]),
    ).to.deep.equal([]);
  });

  it("the work lists: each group's first cases oldest first, and the navigation's count over all of them, as the office and as a unit", async () => {
    const queries: [string, { explain(): Promise<unknown> }][] = [];
    for (const [who, actor] of [["office", office], ["unit", unit]] as const) {
      for (const g of AWAITING) queries.push([`${who}, ${g}`, awaitingQuery(actor, g, now, 5)]);
      queries.push([`${who}, count`, Case.find(awaitingCountQuery(actor, now).getFilter())]);
    }
    expect(await scans(queries)).to.deep.equal([]);
  });

  it("the notice sweep: the schedules that have come, and the cases changed since its last pass", async () => {
    expect(
      await scans([
        ["due schedules", dueSchedules(now, 5000)],
        ["changed cases", changedCases(new Date(now.getTime() - 3600_000), 5000)],
      ]),
    ).to.deep.equal([]);
  });

  it("metrics and the worker: sweep lag (the oldest due schedule), deliveries pending or failed per channel", async () => {
    expect(
      await scans([
        ["oldest due schedule", dueSchedules(now, 1)],
        ["pending deliveries", NoticeDelivery.find({ status: "pending" }).limit(5000)],
        ...WATCHED_DELIVERY_STATES.flatMap((status) => CHANNELS.map((channel) => [`${status} ${channel}`, deliveryCountQuery(status, channel)] as [string, { explain(): Promise<unknown> }])),
      ]),
    ).to.deep.equal([]);
  });

  it("the inbox: a unit's notices newest first, unread ones, and the office's notices of one unit", async () => {
    expect(
      await scans([
        ["unit inbox", noticeListQuery(unit)],
        ["unit inbox, unread", noticeListQuery(unit, { state: "unread" })],
        ["office, one unit", noticeListQuery(office, { unitId: units[4] })],
        ["office, one case", noticeListQuery(office, { caseId: caseIds[7] })],
        ["office inbox", noticeListQuery(office, { officeInbox: true })],
        ["office inbox, unread", noticeListQuery(office, { officeInbox: true, state: "unread" })],
      ]),
    ).to.deep.equal([]);
  });

  it("the scorecard, the office's queue and the 通报: scored notices of a period, for all units and one; the cases the office holds; a unit's cases behind each figure", async () => {
    const from = new Date(now.getTime() - 90 * DAY).toISOString().slice(0, 10);
    const to = now.toISOString().slice(0, 10);
    expect(
      await scans([
        ["scored notices", scoredNoticesQuery(from, to)],
        ["scored notices of a unit", scoredNoticesQuery(from, to, units[2])],
        ["office-held cases", officeHeldQuery()],
        ...(["held", "closed", "closedOnTime", "overdue"] as const).map((f): [string, ReturnType<typeof bulletinCasesQuery>] => [`通报 cases of a unit: ${f}`, bulletinCasesQuery(to.slice(0, 7), now, units[2]!, f)]),
      ]),
    ).to.deep.equal([]);
  });

  it("the 通知 page: each filter and order, a page of it and its count, as the office and as a unit", async () => {
    const day = (offset: number) => new Date(now.getTime() + offset * DAY).toISOString().slice(0, 10);
    const filters: Record<string, NoticeFilter> = {
      "no filter": {},
      level: { level: "supervision" },
      state: { state: "unacknowledged" },
      unit: { unitId: units[4] },
      "date range": { from: day(-30), to: day(-20) },
      "level and date range": { level: "red", from: day(-90), to: day(-1) },
    };
    const queries: [string, { explain(): Promise<unknown> }][] = [];
    for (const [who, actor] of [["office", office], ["unit", unit]] as const)
      for (const [name, f] of Object.entries(filters)) {
        for (const sort of NOTICE_SORTS) queries.push([`${who}, ${name}, ${sort}`, noticeListQuery(actor, f, { limit: 20, skip: 20, sort })]);
        // The count reads through an index wherever the filter narrows the notices. The office's whole list, and
        // its notices not yet acknowledged (most of them), are counts over most of the collection, which the
        // engine rightly reads whole.
        if (who === "unit" || (name !== "no filter" && name !== "state")) queries.push([`${who}, ${name}, count`, Notice.find(noticeFilter(actor, f))]);
      }
    expect(await scans(queries)).to.deep.equal([]);
  });

  it("a case: its history in order, an idempotency key, its notices", async () => {
    expect(
      await scans([
        ["history", historyQuery(caseIds[3]!)],
        ["idempotency key", entryByKeyQuery(caseIds[3]!, "key-1", "actor-1")],
        ["notices of a case", Notice.find({ caseId: caseIds[3] }).sort({ issuedAt: 1 })],
      ]),
    ).to.deep.equal([]);
  });

  it("notice numbering: the last number of a year, the number a notice took, notices left unnumbered", async () => {
    expect(
      await scans([
        ["last number", lastSeqQuery("supervision-2025")],
        ["number of a notice", seqTakenQuery("notice-17")],
        ["unnumbered supervision notices", unnumberedQuery(100)],
      ]),
    ).to.deep.equal([]);
  });

  it("sessions: the store's lookup by id and a user's sessions", async () => {
    expect(
      await scans([
        // connect-mongo's own lookup (MongoStore.get)
        ["session by id", Session.find({ _id: "sid-17", $or: [{ expires: mongoose.trusted({ $exists: false }) }, { expires: mongoose.trusted({ $gt: now }) }] })],
        // endSessions (src/directory.ts)
        ["sessions of a user", Session.find({ "session.userId": "user-7" })],
      ]),
    ).to.deep.equal([]);
  });
});
