/**
 * The sweep: looks at the cases whose schedule has come (an index-only query on case_schedules)
 * and at those changed since its last pass (updatedAt), issues the notices their ladder calls
 * for, ends publicity periods, and writes when to look next. Everything it needs is in MongoDB,
 * so a sweep after Redis lost everything (or after workers were down) catches up on what fell
 * due, once. It writes only schedules and notices: the case document is the case service's.
 */
import mongoose from "mongoose";
import { ladderFor, noticeKey, publicityEndsAt, type Actor, type CaseClock, type NoticeRule } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { loadCalendar, type WorkCalendar } from "../calendar/workdays.ts";
import { Case, CaseSchedule, Notice, SweepState, isDuplicateKey, type CaseDoc } from "../db/models.ts";
import type { CaseService } from "../cases/service.ts";
import { eachConcurrently } from "../concurrently.ts";
import { log } from "../log.ts";
import { issueFromRule, type NoticeRecord, type UnitChannels } from "./issuer.ts";
import { loadRules } from "./rules.ts";

const SYSTEM: Actor = { id: "system", name: "系统", role: "system", unitId: null };
/** When some rule cannot be timed (e.g. a year the calendar lacks), look again after this long. */
const RETRY_PROBLEM_MS = 6 * 3600_000;
const STATE_ID = "notices";
const CHANGE_MARGIN_MS = 5 * 60_000;
const SWEEP_LANES = 8;

export interface SweepResult {
  cases: number;
  issued: NoticeRecord[];
  publicityEnded: string[];
  problems: { caseId: string; message: string }[];
}

export class NoticeSweeper {
  constructor(
    private readonly service: CaseService,
    private readonly clock: Clock,
    /** Called with the notices a pass issued, after they are in the ledger. */
    private readonly onIssued: (notices: NoticeRecord[]) => Promise<void> = async () => {},
  ) {}

  /** One pass over the due and the changed cases (at most `limit` of each; the next pass takes the rest). */
  async sweep(limit = 5000): Promise<SweepResult> {
    const now = this.clock.now();
    const state = await SweepState.findById(STATE_ID).lean();
    // Changes made while the last pass ran, or stamped by a clock a little behind, are seen again.
    const since = new Date((state?.lastStart ?? new Date(0)).getTime() - CHANGE_MARGIN_MS);
    const [due, changed] = await Promise.all([
      CaseSchedule.find({ nextAt: mongoose.trusted({ $lte: now }) }, { _id: 1 }).sort({ nextAt: 1 }).limit(limit).lean(),
      Case.find({ updatedAt: mongoose.trusted({ $gte: since }) }, { _id: 1, updatedAt: 1 }).sort({ updatedAt: 1 }).limit(limit).lean(),
    ]);
    const ids = [...new Set([...due, ...changed].map((d) => String(d._id)))];
    const result: SweepResult = { cases: ids.length, issued: [], publicityEnded: [], problems: [] };
    if (ids.length) {
      const [rules, calendar] = await Promise.all([loadRules(), loadCalendar()]);
      const units: UnitChannels = new Map();
      // Cases are independent (each writes only its own notices and schedule): a few at a time keep
      // the database busy instead of waiting on one round trip after another.
      await eachConcurrently(ids, SWEEP_LANES, async (id) => {
        try {
          await this.processCase(id, now, rules, calendar, units, result);
        } catch (e) {
          log.error({ err: e, caseId: id }, "sweep: case failed");
          result.problems.push({ caseId: id, message: (e as Error).message });
        }
      });
      if (result.issued.length) await this.onIssued(result.issued);
    }
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

  private async processCase(id: string, now: Date, rules: NoticeRule[], cal: WorkCalendar, units: UnitChannels, result: SweepResult): Promise<void> {
    let doc = await this.service.getCase(id, SYSTEM);
    const publicityEnd = safely(() => publicityEndsAt(clockOf(doc), cal));
    if (publicityEnd.value && publicityEnd.value <= now) {
      const ctx = doc.context as { publicitySince: string };
      const applied = await this.service.applyEvent(
        id,
        { type: "PUBLICITY_END", idempotencyKey: `publicity-end-r${doc.deadlineRevision}-${ctx.publicitySince}-v${doc.version}` },
        SYSTEM,
      );
      doc = applied.case;
      result.publicityEnded.push(id);
    }

    const { timed, problems } = ladderFor(clockOf(doc), rules, cal);
    let next: Date | null = null;
    const due = timed.filter(({ at }) => at <= now);
    for (const { at } of timed) if (at > now && (!next || at < next)) next = at;
    // Rungs already issued are skipped by key: a primary-key lookup each, cheap on any server.
    const issued = await Promise.all(due.map(({ rule }) => Notice.exists({ _id: noticeKey(id, rule.id, doc.deadlineRevision) })));
    for (const [i, { rule, at }] of due.entries()) {
      if (issued[i]) continue;
      const notice = await issueFromRule(doc, rule, at, now, units);
      if (notice) result.issued.push(notice);
    }
    if (publicityEnd.value && publicityEnd.value > now && (!next || publicityEnd.value < next)) next = publicityEnd.value;
    const messages = [...problems.map((p) => p.error.message), ...(publicityEnd.error ? [publicityEnd.error.message] : [])];
    if (messages.length) {
      const retry = new Date(now.getTime() + RETRY_PROBLEM_MS);
      if (!next || retry < next) next = retry;
      result.problems.push({ caseId: id, message: messages.join("；") });
    }
    const problem = messages.length ? [...new Set(messages)].join("；") : null;
    await upsert(() => CaseSchedule.updateOne({ _id: id }, { $set: { nextAt: next, version: doc.version, problem, computedAt: now } }, { upsert: true }));
  }
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
