/**
 * Exact totals of the 台账 without recounting the ledger: how many cases there are per unit (lead or
 * co-unit; "*" for all), kind and state, in `case_counts`; and the same per problem category and per
 * inspection round (a case is counted once plainly, once under its category, once under its round: rows
 * per category × round would make a plain total sum hundreds of rows). The case service moves them after
 * each write of a case (registration, import, an event's projection), only when its own write changed the case, so
 * a projection raced by another process is counted once. A crash between the case's write and the
 * counts' leaves them off until `rebuildCounts` (migration at start, `npm run verify-ledger --
 * --rebuild-counts`); `checkCounts` (verify-ledger) finds that.
 */
import mongoose from "mongoose";
import { Case, CaseCount, isDuplicateKey } from "../db/models.ts";
import { log } from "../log.ts";

/** What a case is counted under: its units, kind and state, plainly ("") and by `facetOf` its category and round. */
export interface Facets {
  kind: string;
  state: string;
  units: string[];
  facets: string[];
}

export const ALL_UNITS = "*";

/** The facet of a category or of a round (neither: the plain count). */
export const facetOf = (by: { category?: string | null; round?: string | null }) => (by.category ? `c:${by.category}` : by.round ? `r:${by.round}` : "");

type Countable = { kind: string; state: string; category?: string | null; round?: string | null; leadUnitId?: string | null; coUnitIds?: string[] | null };

export function facetsOf(c: Countable): Facets {
  const units = new Set<string>([ALL_UNITS]);
  if (c.leadUnitId) units.add(c.leadUnitId);
  for (const u of c.coUnitIds ?? []) units.add(u);
  const facets = [...new Set(["", facetOf({ category: c.category }), facetOf({ round: c.round })])];
  return { kind: c.kind, state: c.state, units: [...units], facets };
}

// The plain count's key predates the facets: unchanged, so counts kept before them stay valid.
const keyOf = (unit: string, kind: string, state: string, facet: string) => `${unit}|${kind}|${state}${facet ? `|${facet}` : ""}`;

type Row = { unit: string; kind: string; state: string; facet: string; n: number };

/** The net change of many moves (null: the case did not exist before, or no longer does). */
function deltas(moves: [before: Facets | null, after: Facets | null][]): Map<string, Row> {
  const out = new Map<string, Row>();
  const add = (f: Facets | null, by: number) => {
    for (const unit of f?.units ?? [])
      for (const facet of f!.facets) {
        const key = keyOf(unit, f!.kind, f!.state, facet);
        const row = out.get(key) ?? { unit, kind: f!.kind, state: f!.state, facet, n: 0 };
        row.n += by;
        out.set(key, row);
      }
  };
  for (const [before, after] of moves) {
    add(before, -1);
    add(after, 1);
  }
  for (const [key, row] of out) if (!row.n) out.delete(key);
  return out;
}

/**
 * Moves the counts for cases that were written. Never throws: the cases are written already, and a
 * failure here is logged and found by verify-ledger.
 */
export async function moveCounts(moves: [before: Facets | null, after: Facets | null][]): Promise<void> {
  const rows = deltas(moves);
  if (!rows.size) return;
  const ops = [...rows].map(([_id, { unit, kind, state, facet, n }]) => ({
    updateOne: { filter: { _id }, update: { $inc: { n }, $setOnInsert: { unit, kind, state, facet } }, upsert: true },
  }));
  // Two first upserts of one key at once: one of them meets the other's insert; $inc again finds it.
  for (let attempt = 1; ; attempt++) {
    try {
      await CaseCount.collection.bulkWrite(ops as never, { ordered: true });
      return;
    } catch (err) {
      const failedAt = err instanceof mongoose.mongo.MongoBulkWriteError ? [err.writeErrors].flat()[0]?.index : undefined;
      if (isDuplicateKey(err) && failedAt !== undefined && attempt < 3) {
        ops.splice(0, failedAt);
        continue;
      }
      log.error({ err }, "case counts not moved: run npm run verify-ledger");
      return;
    }
  }
}

/** The counts as the cases say they are (one pass over the ledger, its facets only). */
async function ledgerCounts(): Promise<Map<string, Row>> {
  const moves: [null, Facets][] = [];
  const out = new Map<string, Row>();
  const cursor = Case.find({}, { kind: 1, state: 1, category: 1, round: 1, leadUnitId: 1, coUnitIds: 1 }).lean<Countable[]>().cursor({ batchSize: 2000 });
  for await (const c of cursor) {
    moves.push([null, facetsOf(c as unknown as Countable)]);
    if (moves.length >= 5000) merge(out, deltas(moves.splice(0)));
  }
  merge(out, deltas(moves));
  return out;
}

function merge(into: Map<string, Row>, rows: Map<string, Row>) {
  for (const [key, row] of rows) {
    const prior = into.get(key);
    if (prior) prior.n += row.n;
    else into.set(key, { ...row });
  }
}

/**
 * Writes the counts the cases give where they differ (a count of none stays, at 0). Writes in the
 * meantime would be lost to it: run at start (before the web and workers) or when the office is quiet.
 * Returns how many counts it changed. A plain count kept before the facets existed gets its facet ("").
 */
export async function rebuildCounts(): Promise<number> {
  const [actual, stored] = await Promise.all([ledgerCounts(), CaseCount.find({}).lean<(Partial<Row> & { _id: string; n: number })[]>()]);
  const now = new Map(stored.map((s) => [s._id, s]));
  const ops: unknown[] = [];
  for (const [_id, { unit, kind, state, facet, n }] of actual) {
    const s = now.get(_id);
    if (s?.n !== n || s.facet !== facet) ops.push({ updateOne: { filter: { _id }, update: { $set: { n, facet }, $setOnInsert: { unit, kind, state } }, upsert: true } });
  }
  for (const [_id, s] of now) if ((s.n !== 0 || s.facet === undefined) && !actual.has(_id)) ops.push({ updateOne: { filter: { _id }, update: { $set: { n: 0, facet: s.facet ?? "" } } } });
  if (ops.length) await CaseCount.collection.bulkWrite(ops as never, { ordered: false });
  return ops.length;
}

export interface CountProblem {
  key: string;
  stored: number;
  actual: number;
}

/**
 * Stored counts that differ from the cases. A difference is confirmed by a second look after `settleMs`
 * (on a live ledger, a write may fall between the reading of the cases and of the counts).
 */
export async function checkCounts(settleMs = 200): Promise<{ counts: number; problems: CountProblem[] }> {
  const look = async () => {
    const [actual, stored] = await Promise.all([ledgerCounts(), CaseCount.find({}).lean<(Row & { _id: string })[]>()]);
    const problems: CountProblem[] = [];
    const seen = new Set<string>();
    for (const s of stored) {
      seen.add(s._id);
      const n = actual.get(s._id)?.n ?? 0;
      if (s.n !== n) problems.push({ key: s._id, stored: s.n, actual: n });
    }
    for (const [key, row] of actual) if (!seen.has(key)) problems.push({ key, stored: 0, actual: row.n });
    return { counts: actual.size, problems };
  };
  const first = await look();
  if (!first.problems.length) return first;
  await new Promise((r) => setTimeout(r, settleMs));
  const second = await look();
  const again = new Set(second.problems.map((p) => p.key));
  return { counts: second.counts, problems: second.problems.filter((p) => first.problems.some((f) => f.key === p.key) && again.has(p.key)) };
}

/** The counts of one unit (or ALL_UNITS), of some kinds and states (undefined: any), of one facet (facetOf), not yet run. */
export function countsQuery(unit: string, kind: string | undefined, states: string[] | undefined, facet = "") {
  // A plain count kept before the facets has none until the migration gives it "": plain all the same.
  const byFacet = facet || mongoose.trusted({ $in: ["", null] });
  return CaseCount.find({ unit, facet: byFacet, ...(kind ? { kind } : {}), ...(states ? { state: mongoose.trusted({ $in: states }) } : {}) }, { n: 1 });
}

/** The exact count of cases under one unit (or ALL_UNITS), of some kinds and states (undefined: any), of one facet (facetOf). */
export async function countOf(unit: string, kind: string | undefined, states: string[] | undefined, facet = ""): Promise<number> {
  const rows = await countsQuery(unit, kind, states, facet).lean();
  return rows.reduce((s, r) => s + r.n, 0);
}
