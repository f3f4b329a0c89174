/**
 * The sweep: finds cases whose `nextNoticeAt` has come (an index-only query), issues the notices
 * their ladder calls for, ends publicity periods, and writes when to look next. Everything it
 * needs is in MongoDB, so a sweep after Redis lost everything (or after workers were down)
 * catches up on what fell due, once.
 */
import mongoose from "mongoose";
import { behindMargin, behindScheduleAt, ladderFor, noticeKey, publicityEndsAt, type Actor, type CaseClock, type NoticeRule } from "../../workflows/index.ts";
import type { Clock } from "../clock.ts";
import { loadCalendar, type WorkCalendar } from "../calendar/workdays.ts";
import { Case, Notice, type CaseDoc } from "../db/models.ts";
import type { CaseService } from "../cases/service.ts";
import { log } from "../log.ts";
import { issueFromRule, type NoticeRecord } from "./issuer.ts";
import { loadRules } from "./rules.ts";

const SYSTEM: Actor = { id: "system", name: "系统", role: "system", unitId: null };
/** When some rule cannot be timed (e.g. a year the calendar lacks), look again after this long. */
const RETRY_PROBLEM_MS = 6 * 3600_000;

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

  /** One pass over the due cases (at most `limit`; the next pass takes the rest). */
  async sweep(limit = 2000): Promise<SweepResult> {
    const now = this.clock.now();
    const due = await Case.find({ nextNoticeAt: mongoose.trusted({ $lte: now }) }, { _id: 1 })
      .sort({ nextNoticeAt: 1 })
      .limit(limit)
      .lean();
    const result: SweepResult = { cases: due.length, issued: [], publicityEnded: [], problems: [] };
    if (!due.length) return result;
    const [rules, calendar] = await Promise.all([loadRules(), loadCalendar()]);
    for (const { _id } of due) {
      try {
        await this.processCase(_id.toString(), now, rules, calendar, result);
      } catch (e) {
        log.error({ err: e, caseId: _id.toString() }, "sweep: case failed");
        result.problems.push({ caseId: _id.toString(), message: (e as Error).message });
      }
    }
    if (result.issued.length) await this.onIssued(result.issued);
    return result;
  }

  private async processCase(id: string, now: Date, rules: NoticeRule[], cal: WorkCalendar, result: SweepResult): Promise<void> {
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
    const issued = new Set(
      (await Notice.find({ caseId: id, revision: doc.deadlineRevision }, { _id: 1 }).lean()).map((n) => String(n._id)),
    );
    let next: Date | null = null;
    for (const { rule, at } of timed) {
      if (issued.has(noticeKey(id, rule.id, doc.deadlineRevision))) continue;
      if (at <= now) {
        const notice = await issueFromRule(doc, rule, at, now);
        if (notice) result.issued.push(notice);
      } else if (!next || at < next) next = at;
    }
    if (publicityEnd.value && publicityEnd.value > now && (!next || publicityEnd.value < next)) next = publicityEnd.value;
    const messages = [...problems.map((p) => p.error.message), ...(publicityEnd.error ? [publicityEnd.error.message] : [])];
    if (messages.length) {
      const retry = new Date(now.getTime() + RETRY_PROBLEM_MS);
      if (!next || retry < next) next = retry;
      result.problems.push({ caseId: id, message: messages.join("；") });
    }
    const margin = behindMargin(doc.kind, rules);
    const behindFrom = margin === null ? null : behindScheduleAt(clockOf(doc), margin);
    // Conditional on the version seen: an event applied meanwhile set nextNoticeAt to its own time, which wins.
    await Case.updateOne(
      { _id: doc._id, version: doc.version },
      { $set: { nextNoticeAt: next, behindFrom, scheduleProblem: messages.length ? [...new Set(messages)].join("；") : null } },
      { timestamps: false },
    );
  }
}

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
