/**
 * The sweep: looks at the cases whose schedule has come (an index-only query on case_schedules)
 * and at those changed since its last pass (updatedAt), issues the notices their ladder calls
 * for (one per case and pass: the highest rung that fell due; the lower ones are recorded as superseded),
 * ends publicity periods, and writes when to look next. Everything it needs is in MongoDB,
 * so a sweep after Redis lost everything (or after workers were down) catches up on what fell
 * due, once. It writes only schedules and notices: the case document is the case service's.
 */
import mongoose from "mongoose";
import { SYSTEM, ladderFor, rungOrder, publicityEndsAt, type CaseClock, type NoticeRule } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { loadCalendar, type WorkCalendar } from "../calendar/workdays.ts";
import { Case, CaseSchedule, Notice, SweepState, isDuplicateKey, type CaseDoc } from "../db/models.ts";
import type { CaseService } from "../cases/service.ts";
import { eachConcurrently } from "../concurrently.ts";
import { log } from "../log.ts";
import { issueMany, numberUnnumbered, ruleIssue, type Issue, type NoticeRecord } from "./issuer.ts";
import { loadRules } from "./rules.ts";

/** When some rule cannot be timed (e.g. a year the calendar lacks), look again after this long. */
const RETRY_PROBLEM_MS = 6 * 3600_000;
const STATE_ID = "notices";
const CHANGE_MARGIN_MS = 5 * 60_000;
const SWEEP_LANES = 8;

export interface SweepResult {
  cases: number;
  issued: NoticeRecord[];
  /** Lower rungs that fell due in the same pass as a higher one of their case: recorded, not delivered. */
  superseded: NoticeRecord[];
  publicityEnded: string[];
  problems: { caseId: string; message: string }[];
  /** The pass took a full page of due or changed cases: more are waiting for the next. */
  more: boolean;
}

/**
 * Cases one pass takes, of the due and of the changed each. A pass holds its cases, their plans and
 * notices in memory at once: 5,000 of each took the worker past 500 MB; a full pass asks for the next
 * at once (worker.ts), so a backlog is not left to the once-a-minute schedule.
 */
export const SWEEP_PAGE = 2000;

export class NoticeSweeper {
  constructor(
    private readonly service: CaseService,
    private readonly clock: Clock,
    /** Called with the notices a pass issued, after they are in the ledger. */
    private readonly onIssued: (notices: NoticeRecord[]) => Promise<void> = async () => {},
  ) {}

  /** One pass over the due and the changed cases (at most `limit` of each; the next pass takes the rest). */
  async sweep(limit = SWEEP_PAGE): Promise<SweepResult> {
    const now = this.clock.now();
    const state = await SweepState.findById(STATE_ID).lean();
    // Changes made while the last pass ran, or stamped by a clock a little behind, are seen again.
    const since = new Date((state?.lastStart ?? new Date(0)).getTime() - CHANGE_MARGIN_MS);
    const [due, changed] = await Promise.all([dueSchedules(now, limit).lean(), changedCases(since, limit).lean()]);
    const ids = [...new Set([...due, ...changed].map((d) => String(d._id)))];
    const result: SweepResult = { cases: ids.length, issued: [], superseded: [], publicityEnded: [], problems: [], more: false };
    if (ids.length) {
      const [rules, calendar] = await Promise.all([loadRules(), loadCalendar()]);
      // Publicity periods that ended go through the case service first (rare: one event each), so the
      // ladder below sees the case as it now stands.
      const found = await this.service.currentCases(ids);
      const cases = await eachCase(found, result, (doc) => this.endPublicity(doc, now, calendar, result));
      const plans = cases.map((doc) => ({ doc, ...planOf(doc, now, rules, calendar) }));
      for (const p of plans) if (p.problem) result.problems.push({ caseId: p.doc._id.toString(), message: p.problem });
      // Everything that fell due, issued at once; a key issued already (an earlier pass, a concurrent sweep) is skipped by a primary-key read.
      const wanted = plans.flatMap((p) => p.due.map((t) => ruleIssue(p.doc, t)));
      const made = await issueMany(onePerCase(wanted, wanted.length ? await issuedAlready(wanted) : new Map()), now);
      result.issued = made.filter((n) => !n.supersededBy);
      result.superseded = made.filter((n) => n.supersededBy);
      await writeSchedules(plans, now);
      // A schedule whose case is gone (a restore of an older ledger) would be due forever, first in line.
      const present = new Set(found.map((c) => c._id.toString()));
      const gone = due.map((d) => String(d._id)).filter((id) => !present.has(id));
      if (gone.length) await CaseSchedule.updateMany({ _id: mongoose.trusted({ $in: gone }) }, { $set: { nextAt: null, problem: "案件不存在", computedAt: now } });
      if (result.issued.length) await this.onIssued(result.issued);
      // A full page that moved cases on asks for the next pass at once; one of cases that keep failing waits for the schedule.
      result.more = plans.length > 0 && (due.length === limit || changed.length === limit);
    }
    await numberUnnumbered();
    if (changed.length < limit) await advanceWatermark(now);
    else {
      // More changed than one pass takes: the next pass starts where this page ended (a full page
      // of one timestamp, which only a stopped clock makes, is stepped over rather than read forever).
      const first = changed[0]!.updatedAt.getTime();
      const last = changed[changed.length - 1]!.updatedAt.getTime();
      await advanceWatermark(new Date((last === first ? last + 1 : last) + CHANGE_MARGIN_MS));
    }
    return result;
  }

  /** Ends the case's publicity period if it is over (PUBLICITY_END by the system); returns the case as it then stands. */
  private async endPublicity(doc: CaseDoc, now: Date, cal: WorkCalendar, result: SweepResult): Promise<CaseDoc> {
    const end = safely(() => publicityEndsAt(clockOf(doc), cal));
    if (!end.value || end.value > now) return doc;
    const ctx = doc.context as { publicitySince: string };
    const id = doc._id.toString();
    const applied = await this.service.applyEvent(
      id,
      { type: "PUBLICITY_END", idempotencyKey: `publicity-end-r${doc.deadlineRevision}-${ctx.publicitySince}-v${doc.version}` },
      SYSTEM,
    );
    result.publicityEnded.push(id);
    return applied.case;
  }
}

/** The schedules that have come by `now`, oldest first: the sweep's due query (and, limited to one, its lag). */
export const dueSchedules = (now: Date, limit: number) =>
  CaseSchedule.find({ nextAt: mongoose.trusted({ $lte: now }) }, { _id: 1, nextAt: 1 }).sort({ nextAt: 1, _id: 1 }).limit(limit);

/** Cases changed since `since`, oldest change first: the sweep's changed-cases query. */
export const changedCases = (since: Date, limit: number) =>
  Case.find({ updatedAt: mongoose.trusted({ $gte: since }) }, { _id: 1, updatedAt: 1 }).sort({ updatedAt: 1, _id: 1 }).limit(limit);

type Existing = Map<string, { issuedAt: Date; supersededBy: string | null }>;

/** Which of these keys were issued already (an earlier pass, a concurrent sweep), and when: one primary-key read. */
async function issuedAlready(issues: Issue[]): Promise<Existing> {
  const rows = await Notice.find({ _id: mongoose.trusted({ $in: issues.map((i) => i.id) }) }, { issuedAt: 1, supersededBy: 1 }).lean();
  return new Map(rows.map((n) => [String(n._id), { issuedAt: n.issuedAt, supersededBy: n.supersededBy ?? null }]));
}

/**
 * Catch-up sends one notice to each party. The new rungs of a case (at its deadline revision) for one party
 * (the unit, or the office) fell due together with any rung of that party issued since the earliest of them
 * fell due; of all these the highest is issued (or was, by a concurrent sweep) and the new others are
 * recorded as superseded by it. A rung issued before the new ones fell due does not silence them (a sign
 * reminder after a due reminder still asks to sign), nor does one to the other party (the office's 延期待批提醒
 * does not answer for the unit's rungs held meanwhile). Concurrent sweeps that see part of each other's
 * inserts still pick the same highest rung.
 */
function onePerCase(due: Issue[], existing: Existing): Issue[] {
  const byCase = new Map<string, Issue[]>();
  for (const i of due) {
    const key = `${i.doc._id.toString()}:${i.holder}`;
    byCase.set(key, [...(byCase.get(key) ?? []), i]);
  }
  const higher = (a: Issue, b: Issue) => rungOrder({ level: a.level, at: a.dueAt }, { level: b.level, at: b.dueAt }) || a.id.localeCompare(b.id);
  return [...byCase.values()].flatMap((rungs) => {
    const fresh = rungs.filter((i) => !existing.has(i.id));
    if (!fresh.length) return [];
    const since = Math.min(...fresh.map((i) => i.dueAt.getTime()));
    const together = rungs.filter((i) => {
      const e = existing.get(i.id);
      return !e || (!e.supersededBy && e.issuedAt.getTime() >= since);
    });
    const top = together.sort(higher)[0]!;
    return fresh.map((i) => (i.id === top.id ? i : { ...i, supersededBy: top.id }));
  });
}

/** Runs `step` on each case a few at a time; a case that fails is reported and left out, the others go on. */
async function eachCase(docs: CaseDoc[], result: SweepResult, step: (doc: CaseDoc) => Promise<CaseDoc>): Promise<CaseDoc[]> {
  const out: CaseDoc[] = [];
  await eachConcurrently(docs, SWEEP_LANES, async (doc) => {
    try {
      out.push(await step(doc));
    } catch (e) {
      log.error({ err: e, caseId: doc._id.toString() }, "sweep: case failed");
      result.problems.push({ caseId: doc._id.toString(), message: (e as Error).message });
    }
  });
  return out;
}

/** What the ladder says for a case now: the rungs due, when to look next, and why a rung could not be timed. */
function planOf(doc: CaseDoc, now: Date, rules: NoticeRule[], cal: WorkCalendar) {
  const { timed, problems } = ladderFor(clockOf(doc), rules, cal);
  const publicityEnd = safely(() => publicityEndsAt(clockOf(doc), cal));
  const due = timed.filter(({ at }) => at <= now);
  let next: Date | null = null;
  for (const at of [...timed.map((t) => t.at), publicityEnd.value]) if (at && at > now && (!next || at < next)) next = at;
  const messages = [...new Set([...problems.map((p) => p.error.message), ...(publicityEnd.error ? [publicityEnd.error.message] : [])])];
  if (messages.length) {
    const retry = new Date(now.getTime() + RETRY_PROBLEM_MS);
    if (!next || retry < next) next = retry;
  }
  return { due, next, problem: messages.length ? messages.join("；") : null };
}

/** Every case's next look in one write. */
async function writeSchedules(plans: { doc: CaseDoc; next: Date | null; problem: string | null }[], now: Date): Promise<void> {
  if (!plans.length) return;
  const ops = plans.map(({ doc, next, problem }) => ({
    updateOne: { filter: { _id: doc._id.toString() }, update: { $set: { nextAt: next, version: doc.version, problem, computedAt: now } }, upsert: true },
  }));
  // Concurrent sweeps may race to insert the same schedule: the loser's write goes again as an update.
  await upsert(() => CaseSchedule.bulkWrite(ops, { ordered: false }));
}

/** An upsert that concurrent sweeps may race to insert: one insert wins, the loser updates what it made. */
async function upsert(write: () => Promise<unknown>): Promise<void> {
  await write().catch((e) => {
    if (!isDuplicateKey(e)) throw e;
    return write();
  });
}

const advanceWatermark = (now: Date) => upsert(() => SweepState.updateOne({ _id: STATE_ID }, { $max: { lastStart: now } }, { upsert: true }));

function clockOf(doc: CaseDoc): CaseClock {
  return { kind: doc.kind, state: doc.state, context: doc.context as CaseClock["context"] };
}

function safely<T>(f: () => T): { value: T | null; error: Error | null } {
  try {
    return { value: f(), error: null };
  } catch (e) {
    return { value: null, error: e as Error };
  }
}

/** Why the sweep could not time a rung of this case (e.g. a year the calendar lacks), or null. Shown on the case page. */
export async function scheduleProblemOf(caseId: string): Promise<string | null> {
  return (await CaseSchedule.findById(caseId, { problem: 1 }).lean())?.problem ?? null;
}
