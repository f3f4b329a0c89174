/**
 * Reading the ledger: lists with filters, search, sorts and paging, their totals, and the traffic light.
 * The dashboard's figures built on the same filters are stats.ts.
 * Every query starts from what the actor may see (access.ts), so counts and searches never reveal
 * another unit's cases.
 */
import mongoose from "mongoose";
import { deadlineBinds, leafStates, overdueNow, shanghaiDate, type Actor, type CaseKind, type DatedCase } from "../../workflows/index.ts";
import { Case, type CaseDoc } from "../db/models.ts";
import { escapeRegex, unitIdsMatching } from "../directory.ts";
import { warnedRevisions } from "../notices/inbox.ts";
import { pageOf, type PastEnd } from "../paging.ts";
import { visibleFilter } from "./access.ts";
import { ALL_UNITS, countOf, facetOf } from "./counts.ts";
import { TRUNCATED, searchGrams } from "./grams.ts";
import { deadlineBindsFilter, overdueNowFilter, statesFor as statesOfKind } from "./figures.ts";
import { awaitingFilter, type Awaiting } from "./worklists.ts";

export interface CaseFilter {
  kind?: CaseKind;
  state?: string;
  unit?: string;
  category?: string;
  round?: string;
  overdue?: boolean;
  behindSchedule?: boolean;
  q?: string;
  deadlineFrom?: string;
  deadlineTo?: string;
  /** A work list's group (worklists.ts). */
  awaiting?: Awaiting;
}

export const SORTS = ["deadline", "-deadline", "updatedAt", "-updatedAt", "ledgerNumber", "-ledgerNumber", "createdAt", "-createdAt", "stateSince"] as const;
export type Sort = (typeof SORTS)[number];

const t = mongoose.trusted;

/** Leaf states named by a state key, of one kind or of both (the ledger's state filter names a state, not a kind). */
function statesFor(state: string, kind?: CaseKind): string[] {
  const kinds: CaseKind[] = kind ? [kind] : ["inspection", "complaint"];
  return [...new Set(kinds.flatMap((k) => statesOfKind(state, k)))];
}

/**
 * The filter of a list. `qUnits`: the units whose name, short name or alias contains the search text
 * (unitIdsMatching), whose cases the search finds too.
 */
export function caseFilter(actor: Actor, f: CaseFilter, now: Date, qUnits: string[] = [], o: { byGrams?: boolean } = {}): Record<string, unknown> {
  const and: Record<string, unknown>[] = [visibleFilter(actor)];
  if (f.kind) and.push({ kind: f.kind });
  if (f.state) and.push({ state: t({ $in: statesFor(f.state, f.kind) }) });
  if (f.unit && f.unit !== (and[0] as { unitIds?: string }).unitIds) and.push({ unitIds: f.unit });
  if (f.awaiting) and.push(awaitingFilter(f.awaiting));
  if (f.category) and.push({ category: f.category });
  if (f.round) and.push({ round: f.round });
  if (f.deadlineFrom || f.deadlineTo)
    and.push({ deadline: t({ ...(f.deadlineFrom ? { $gte: f.deadlineFrom } : {}), ...(f.deadlineTo ? { $lte: f.deadlineTo } : {}) }) });
  if (f.overdue) and.push(...overdueNowFilter(shanghaiDate(now), f.kind));
  if (f.behindSchedule) and.push({ behindFrom: t({ $lte: now }) }, deadlineBindsFilter(f.kind));
  if (f.q) and.push(searchFilter(f.q, qUnits, o.byGrams ?? true));
  return combine(and);
}

/**
 * The search: the text within a case's ledger number, title or description (case-insensitive), or a
 * case of the units `qUnits`. `byGrams`: a search of two characters or more reads the candidates holding
 * all its bigrams through the `grams` index, and cases whose bigrams were cut off (grams.ts), and checks
 * the text itself on them: the same cases as the plain check over every case, which a search with no
 * bigram (one character) still is, and which a walk along a sort's index makes as it goes.
 */
export function searchFilter(q: string, qUnits: string[] = [], byGrams = true): Record<string, unknown> {
  const re = t({ $regex: escapeRegex(q.trim()), $options: "i" });
  const inText = [{ ledgerNumber: re }, { title: re }, { description: re }];
  const grams = byGrams ? searchGrams(q) : null;
  const byText = grams ? [{ grams: t({ $all: grams }), $or: inText }, { grams: TRUNCATED, $or: inText }] : inText;
  const byUnit = qUnits.length ? [{ unitIds: t({ $in: qUnits }) }] : [];
  return { $or: [...byText, ...byUnit] };
}

/**
 * One filter from several conditions: fields side by side where they do not collide, $and only for
 * the rest. A plain `{}` or `{field: …}` lets the server walk a sort's index to the page's limit, where
 * a needless `$and` made DocumentDB read every matching document and sort them.
 */
export function combine(conditions: Record<string, unknown>[]): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  const rest: Record<string, unknown>[] = [];
  for (const c of conditions)
    if (Object.keys(c).some((k) => k in merged)) rest.push(c);
    else Object.assign(merged, c);
  return rest.length ? { ...merged, $and: rest } : merged;
}


/**
 * The sort of a list: the key, then _id the same way, so pages never overlap. Each key has an index
 * on (key, _id) that a page walks in order, stopping at its limit; ledger numbers are unique.
 * Nearest deadline first walks `deadlineSort` (the deadline, or "~" for none, written by the case
 * service), so cases without a deadline come last; latest first walks `deadline`, where none sorts lowest.
 */
export function sortSpec(sort: Sort): Record<string, 1 | -1> {
  const key = sort.replace(/^-/, "");
  const dir = sort.startsWith("-") ? -1 : 1;
  if (key === "ledgerNumber") return { ledgerNumber: dir };
  if (sort === "deadline") return { deadlineSort: 1, _id: 1 };
  return { [key]: dir, _id: dir };
}

export interface Paging {
  page: number;
  pageSize: number;
  sort: Sort;
}

/**
 * What a list leaves out of each case: the search's bigrams (up to ~16 KB a case) are for the index only;
 * the machine's snapshot, the history's head and the registrar are the case service's, shown by no list.
 */
export const UNLISTED = { grams: 0, stateValue: 0, historyHead: 0, createdBy: 0 } as const;

/**
 * The queries behind one page of the ledger, not yet run: the page walked along the sort's index, and
 * the filter its total counts and a page among few matches is chosen from (pageAmongFew). The walk checks
 * a search's text on each case it passes and stops at the page's limit; with the bigrams in its filter
 * the planner read every candidate and sorted them first (a word found in every case: 28 → 175 ms).
 */
export function caseListQuery(actor: Actor, f: CaseFilter, paging: Paging, now: Date, qUnits: string[] = []) {
  const filter = caseFilter(actor, f, now, qUnits);
  const page = Case.find(f.q ? caseFilter(actor, f, now, qUnits, { byGrams: false }) : filter, UNLISTED)
    .sort(sortSpec(paging.sort))
    .skip((paging.page - 1) * paging.pageSize)
    .limit(paging.pageSize);
  const hint = walkIndex(actor, f, paging.sort);
  if (hint) page.hint(hint);
  return { page, filter };
}

/**
 * The filters a page walks along its sort's index, told by a hint: conditions on fields no sort key
 * follows, so matches are spread evenly along every sort's index and a page reads about (ledger ÷
 * matches) entries per row. DocumentDB's planner, with fixed row estimates, read every case of a kind or
 * state and sorted them instead (10,000 cases: 19 → 6 ms of PostgreSQL a page). Overdue cases are spread
 * along every index but the deadline's, where the filter's "before today" bounds the walk: latest first
 * starts at today (100,000 cases: 130 → 36 ms a page, latest first 155 → 10 ms). Where the planner walks
 * by itself (no filter, a unit, a category or round) a hint cost 1–3 ms a page one request at a time,
 * but bench 5 under load was better with it everywhere (units at 100,000 cases: 55–62 against 45–49
 * lists a second): kept for all. Searches, date ranges and 滞后 keep the planner's choice (no gain measured).
 */
const EVEN_FILTERS = new Set(["kind", "state", "unit", "category", "round", "overdue"]);

/** The sort's index a page walks (with the unit's cases first, for a unit or the unit filter), or null to leave the plan to the planner. */
export function walkIndex(actor: Actor, f: CaseFilter, sort: Sort): Record<string, 1> | null {
  const used = Object.entries(f).filter(([, v]) => v !== undefined && v !== false && v !== "").map(([k]) => k);
  if (!used.every((k) => EVEN_FILTERS.has(k))) return null;
  const key = sort.replace(/^-/, "");
  // The (key, _id) index of sortSpec's keys, whichever way the page walks it.
  const keys: Record<string, 1> = key === "ledgerNumber" ? { ledgerNumber: 1 } : sort === "deadline" ? { deadlineSort: 1, _id: 1 } : { [key]: 1, _id: 1 };
  return actor.role === "unit_user" || f.unit ? { unitIds: 1, ...keys } : keys;
}

export type Light = "red" | "yellow" | "green" | null;
export type ListedCase = CaseDoc & { light: Light };
const NO_WARNINGS = new Set<string>();

/** Traffic light: red overdue, yellow warned or behind schedule, green on track, none when the deadline no longer binds. */
export function trafficLight(c: CaseDoc, now: Date, warned: Set<string>): Light {
  const dated = { kind: c.kind as CaseKind, state: c.state, deadline: c.deadline, context: c.context as DatedCase["context"] };
  if (!deadlineBinds(dated)) return null;
  if (overdueNow(dated, shanghaiDate(now))) return "red";
  if (warned.has(`${c._id.toString()}:${c.deadlineRevision}`) || (c.behindFrom && c.behindFrom <= now)) return "yellow";
  return "green";
}

/**
 * One page of the ledger, how many cases match and each case's traffic light: what the 台账 page,
 * GET /api/cases and the dashboard lists show. A page past the last is empty (`pastEnd: "empty"`, the
 * API: a client paging until an empty page stops) or the last page (the default, the pages).
 * The total is exact where the facet counts (counts.ts) answer it; otherwise it is counted up to the
 * page asked for or FEW_MATCHES, whichever is further, and `totalCapped` says there are more.
 */
export async function listCases(actor: Actor, f: CaseFilter, paging: Paging, now: Date, opts: { pastEnd?: PastEnd } = {}) {
  const qUnits = f.q?.trim() ? await unitIdsMatching(f.q) : [];
  const { filter } = caseListQuery(actor, f, paging, now, qUnits);
  const { total, capped } = await totalOf(actor, f, filter, paging.page * paging.pageSize);
  const { pages, page: pageNo, empty } = pageOf(total, paging, opts.pastEnd, capped);
  // An exact total says when there is nothing to read (none match, or the last page shown is empty).
  const items = empty || (!capped && (pageNo - 1) * paging.pageSize >= total)
    ? []
    : (await fewAmongMany(total, capped, pageNo * paging.pageSize))
      ? await pageAmongFew(filter, { ...paging, page: pageNo })
      : await caseListQuery(actor, f, { ...paging, page: pageNo }, now, qUnits).page.lean<CaseDoc[]>();
  // Only a case green without its warnings can turn yellow by one: theirs alone are read.
  const lights = items.map((c) => trafficLight(c, now, NO_WARNINGS));
  const warned = await warnedRevisions(items.filter((_, i) => lights[i] === "green").map((c) => c._id.toString()));
  const light = (c: CaseDoc, i: number) => (lights[i] === "green" ? trafficLight(c, now, warned) : (lights[i] ?? null));
  return { items: items.map((c, i): ListedCase => ({ ...c, light: light(c, i) })), total, totalCapped: capped, page: pageNo, pageSize: paging.pageSize, pages };
}

/** The filters the facet counts answer exactly: the unit, kind and state (and the actor's own scope), with a category or a round. */
const FACETS = new Set(["kind", "state", "unit", "category", "round"]);

/**
 * The exact total of a filter the facet counts answer, from them; null for any other filter. A unit's
 * user counts under its own unit; its filter by another unit (cases both share) is not a facet.
 */
export async function facetTotal(actor: Actor, f: CaseFilter): Promise<number | null> {
  if (Object.entries(f).some(([k, v]) => !FACETS.has(k) && v !== undefined && v !== false && v !== "")) return null;
  if (f.category && f.round) return null;
  let unit = f.unit || ALL_UNITS;
  if (actor.role === "unit_user") {
    if (!actor.unitId) return 0;
    if (f.unit && f.unit !== actor.unitId) return null;
    unit = actor.unitId;
  }
  return countOf(unit, f.kind, f.state ? statesFor(f.state, f.kind) : undefined, facetOf(f));
}

/** How many cases a list's filter matches: exact from the facet counts, else counted up to a cap. */
async function totalOf(actor: Actor, f: CaseFilter, filter: Record<string, unknown>, pageEnd: number): Promise<{ total: number; capped: boolean }> {
  const exact = await facetTotal(actor, f);
  if (exact !== null) return { total: exact, capped: false };
  const cap = Math.max(FEW_MATCHES, pageEnd);
  const n = await Case.countDocuments(filter, { limit: cap + 1 });
  return n > cap ? { total: cap, capped: true } : { total: n, capped: false };
}

/** Up to this many matches, a page may be chosen in memory (pageAmongFew); above it, a sort's index is walked to the page. */
const FEW_MATCHES = 2000;
/** A walk of a sort's index expected to read more entries than this, to fill the page, is not taken. */
const WALK_ROWS = 3000;
let ledgerSize = { n: 0, at: 0 };

/**
 * Whether the page is better chosen among the matches than walked to: only when they are few and so
 * sparse in the ledger that a walk, reading about (ledger ÷ matches) entries per row of the page, would
 * read much more than the matches themselves (a unit's view of a large ledger). Reading the matches' keys
 * costs far more per match than a step of a walk, so a dense filter is walked. The ledger's size is an
 * estimate, refreshed each minute.
 */
async function fewAmongMany(total: number, capped: boolean, pageEnd: number): Promise<boolean> {
  if (capped || total > FEW_MATCHES) return false;
  if (Date.now() - ledgerSize.at > 60_000) ledgerSize = { n: await Case.estimatedDocumentCount(), at: Date.now() };
  return (pageEnd * ledgerSize.n) / Math.max(1, total) > WALK_ROWS;
}

/** The ids and sort keys of the matches, not yet run: what a page among few matches is chosen from. */
export function caseKeysQuery(filter: Record<string, unknown>, sort: Sort) {
  return Case.find(filter, Object.fromEntries(Object.keys(sortSpec(sort)).map((k) => [k, 1])));
}

/**
 * A page among few matches (a unit's view, a narrow filter): their ids and sort keys are read through the
 * filter's own indexes, the page is chosen in memory, then its cases are read by id. Walking a sort's
 * index until a page is full is fast while matches are many; with few of them the walk reads most of the
 * index first, and a planner's estimates cannot always tell the two cases apart.
 */
export async function pageAmongFew(filter: Record<string, unknown>, paging: Paging): Promise<CaseDoc[]> {
  const spec = sortSpec(paging.sort);
  const keys = await caseKeysQuery(filter, paging.sort).lean<Record<string, unknown>[]>();
  keys.sort((a, b) => {
    for (const [k, dir] of Object.entries(spec)) {
      const c = compareValues(a[k], b[k]);
      if (c) return c * dir;
    }
    return 0;
  });
  const ids = keys.slice((paging.page - 1) * paging.pageSize, paging.page * paging.pageSize).map((k) => k._id as mongoose.Types.ObjectId);
  if (!ids.length) return [];
  const byId = new Map((await Case.find({ _id: t({ $in: ids }) }, UNLISTED).lean<CaseDoc[]>()).map((d) => [d._id.toString(), d]));
  return ids.flatMap((id) => byId.get(id.toString()) ?? []);
}

/** MongoDB's order for the sort keys a list uses (ledger numbers, date strings, dates, ids): missing and null first, then by value. */
function compareValues(a: unknown, b: unknown): number {
  if (a == null || b == null) return a == null ? (b == null ? 0 : -1) : 1;
  const x = a instanceof Date ? a.getTime() : a instanceof mongoose.Types.ObjectId ? a.toHexString() : a;
  const y = b instanceof Date ? b.getTime() : b instanceof mongoose.Types.ObjectId ? b.toHexString() : b;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Open cases of a unit's user where the user can act, for the unit's dashboard (at most `limit` looked at). */
export async function openCasesOf(actor: Actor, limit = 200): Promise<CaseDoc[]> {
  return Case.find({ ...visibleFilter(actor), state: t({ $ne: "closed" }) })
    .limit(limit)
    .lean<CaseDoc[]>();
}

/** A kind's states in lifecycle order (the dashboard lists counts this way, not as the database returns them). */
export function lifecycleOrder(kind: CaseKind): string[] {
  return leafStates(kind);
}
