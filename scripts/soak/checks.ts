/**
 * What the soak checks at the end, from the ledger rather than from the load's own counters: every
 * acknowledged event is in its case's history exactly once; one notice per (case, rule, revision);
 * every rung due by the end was issued; no delivery left pending, every failed one showing why, and
 * every delivery the ledger calls sent found at its receiver; notice numbers unique and gapless per
 * year and every hash chain intact (npm run verify-ledger's own check).
 */
import mongoose from "mongoose";
import { ladderFor, noticeKey, type CaseClock } from "../../workflows/index.ts";
import { loadCalendar } from "../../src/calendar/workdays.ts";
import { Case, CaseHistory, Notice, NoticeDelivery } from "../../src/db/models.ts";
import { loadRules } from "../../src/notices/rules.ts";
import { verifyLedger } from "../../src/ops/verify.ts";
import type { Ack } from "./load.ts";

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

const t = mongoose.trusted;
const sample = (xs: string[], n = 5) => (xs.length ? `: ${xs.slice(0, n).join("; ")}${xs.length > n ? ` … (${xs.length} in all)` : ""}` : "");

export async function acknowledgedEvents(acks: Ack[]): Promise<Check> {
  const caseIds = [...new Set(acks.map((a) => a.caseId))];
  const entries = new Map<string, { seq: number }[]>();
  for (let i = 0; i < caseIds.length; i += 200) {
    const rows = await CaseHistory.find({ caseId: t({ $in: caseIds.slice(i, i + 200) }), idempotencyKey: t({ $ne: null }) }, { caseId: 1, seq: 1, idempotencyKey: 1 }).lean();
    for (const r of rows) {
      const k = `${r.caseId} ${r.idempotencyKey}`;
      entries.set(k, [...(entries.get(k) ?? []), { seq: r.seq }]);
    }
  }
  const problems: string[] = [];
  const keys = new Set<string>();
  for (const a of acks) {
    const k = `${a.caseId} ${a.key}`;
    keys.add(k);
    const found = entries.get(k) ?? [];
    if (found.length !== 1) problems.push(`${a.type} ${a.key} on ${a.caseId}: ${found.length} entries`);
    else if (found[0]!.seq !== a.seq) problems.push(`${a.type} ${a.key} on ${a.caseId}: answered seq ${a.seq}, history has it at ${found[0]!.seq}`);
  }
  const replays = acks.filter((a) => a.replayed).length;
  return {
    what: "every event acknowledged with 2xx is in its case's history exactly once",
    ok: problems.length === 0,
    detail: `${acks.length} acknowledgements (${keys.size} distinct keys, ${replays} answered as replays) on ${caseIds.length} cases${sample(problems)}`,
  };
}

export async function oneNoticePerKey(): Promise<Check> {
  const seen = new Map<string, string[]>();
  const wrongId: string[] = [];
  let n = 0;
  for await (const x of Notice.find({ ruleId: t({ $ne: null }) }, { caseId: 1, ruleId: 1, revision: 1 }).lean().cursor({ batchSize: 5000 })) {
    n++;
    const key = noticeKey(x.caseId, x.ruleId!, x.revision);
    if (key !== x._id) wrongId.push(`${x._id} (fields say ${key})`);
    seen.set(key, [...(seen.get(key) ?? []), String(x._id)]);
  }
  const dup = [...seen].filter(([, ids]) => ids.length > 1).map(([k, ids]) => `${k}: ${ids.join(", ")}`);
  return {
    what: "no two notices share (case, rule, revision)",
    ok: !dup.length && !wrongId.length,
    detail: `${n} notices by rule, ${seen.size} distinct (case, rule, revision)${sample([...dup, ...wrongId])}`,
  };
}

/** Every rung the ladder says fell due by `at` (as the sweep computes it, on each case as it now stands) has its notice. */
export async function dueIssued(at: Date): Promise<Check> {
  const [rules, calendar] = await Promise.all([loadRules(), loadCalendar()]);
  const issued = new Set<string>();
  for await (const x of Notice.find({}, { _id: 1 }).lean().cursor({ batchSize: 10_000 })) issued.add(String(x._id));
  const missing: string[] = [];
  let cases = 0;
  let due = 0;
  for await (const c of Case.find({}, { kind: 1, state: 1, context: 1, deadlineRevision: 1, ledgerNumber: 1 }).lean().cursor({ batchSize: 2000 })) {
    cases++;
    const { timed } = ladderFor({ kind: c.kind, state: c.state, context: c.context } as CaseClock, rules, calendar);
    for (const { rule, at: when } of timed) {
      if (when > at) continue;
      due++;
      const key = noticeKey(c._id.toString(), rule.id, c.deadlineRevision);
      if (!issued.has(key)) missing.push(`${c.ledgerNumber} ${rule.id} r${c.deadlineRevision} (due ${when.toISOString()})`);
    }
  }
  return { what: "every rung due by the end was issued", ok: !missing.length, detail: `${due} rungs due on ${cases} cases as they stand, ${due - missing.length} issued${sample(missing)}` };
}

export interface Received {
  /** Notice ids the SMTP receiver accepted (with repeats). */
  emails: string[];
  /** Notice ids the webhook receiver answered 200 (with repeats). */
  webhooks: string[];
}

export async function deliveriesSettled(attempts: number, received: Received): Promise<Check[]> {
  const rows = await NoticeDelivery.find({ channel: t({ $in: ["email", "webhook"] }) }, { noticeId: 1, channel: 1, status: 1, attempts: 1, lastError: 1 }).lean();
  const by = (status: string) => rows.filter((r) => r.status === status);
  const pending = by("pending");
  const failed = by("failed");
  const silent = failed.filter((r) => !r.lastError || (r.attempts ?? 0) < attempts).map((r) => `${r._id}: ${r.attempts} attempts, error ${JSON.stringify(r.lastError)}`);
  const got = { email: new Set(received.emails), webhook: new Set(received.webhooks) };
  const unseen = by("sent")
    .filter((r) => !got[r.channel as "email" | "webhook"].has(r.noticeId))
    .map((r) => String(r._id));
  const repeats = (xs: string[]) => xs.length - new Set(xs).size;
  const counts = ["sent", "failed", "cancelled", "skipped", "pending"].map((s) => `${by(s).length} ${s}`).join(", ");
  return [
    {
      what: "no delivery left pending; every failed one shows its error after the last attempt",
      ok: !pending.length && !silent.length,
      detail: `email and webhook deliveries: ${counts}${sample([...pending.map((r) => `${r._id} pending`), ...silent])}`,
    },
    {
      what: "every delivery the ledger calls sent reached its receiver",
      ok: !unseen.length,
      detail: `received ${received.emails.length} emails (${repeats(received.emails)} repeated) and ${received.webhooks.length} webhooks (${repeats(received.webhooks)} repeated); at-least-once: a repeat carries its notice id${sample(unseen)}`,
    },
  ];
}

export async function ledgerVerifies(): Promise<Check[]> {
  const r = await verifyLedger({ settleMs: 0 });
  const years = Object.entries(r.numbering.years)
    .map(([y, n]) => `${y}: 1–${n}`)
    .join(", ");
  return [
    {
      what: "supervision notice numbers unique and gapless per year",
      ok: !r.numbering.problems.length,
      detail: `${r.numbering.notices} numbered notices (${years || "none"})${sample(r.numbering.problems.map((p) => p.message))}`,
    },
    {
      what: "every hash chain verifies",
      ok: !r.broken.length,
      detail: `${r.cases} cases, ${r.entries} history entries, ${r.lagging} lagging their history, ${r.leftovers.length} leftover first entries${sample(r.broken.map((b) => `${b.ledgerNumber} #${b.seq}: ${b.reason}`))}`,
    },
  ];
}

/** A message a robot accepted: its notice id and when the robot took it (ms, the soak's clock). */
export interface Accepted {
  id: string;
  at: number;
}

/**
 * A robot has no idempotency key, so one repeat is unavoidable: a worker SIGKILLed after the robot took
 * its message and before it recorded the send (its lease then lapses and another worker sends again).
 * Each repeat of a message is explained only by such a kill: a worker's death at or after the earlier
 * acceptance and within `windowMs` of it (the send lease: beyond it the sender was not the one killed)
 * and before the repeat. Returns the repeats nothing explains, and how many a kill did.
 */
export function robotRepeats(accepted: Accepted[], workerKills: number[], windowMs: number): { explained: string[]; unexplained: string[] } {
  const times = new Map<string, number[]>();
  for (const a of accepted) times.set(a.id, [...(times.get(a.id) ?? []), a.at]);
  const explained: string[] = [];
  const unexplained: string[] = [];
  for (const [id, ts] of times) {
    const sorted = [...ts].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i++) {
      const [first, again] = [sorted[i - 1]!, sorted[i]!];
      const kill = workerKills.find((k) => k >= first && k - first <= windowMs && k <= again);
      const when = `accepted at ${new Date(first).toISOString()} and again at ${new Date(again).toISOString()}`;
      if (kill === undefined) unexplained.push(`${id} ${when}, no worker killed in between while it was being sent`);
      else explained.push(`${id} ${when}, a worker SIGKILLed at ${new Date(kill).toISOString()}`);
    }
  }
  return { explained, unexplained };
}

/**
 * The rate-limited robot (a fake 飞书 robot that refuses beyond 5 a second and 100 a minute): nothing left
 * pending, every delivery the ledger calls sent accepted by the fake, and no message accepted twice but
 * where a worker kill explains it (robotRepeats). `refused`: how many it refused for rate; `busiestSecond`:
 * the most requests it saw in any second; `workerKills`: when the soak's SIGKILLs of workers took effect;
 * `leaseMs`: a robot send's lease (WEBHOOK_TIMEOUT_MS + 5 s, delivery.ts).
 */
export async function robotDelivered(
  channel: "wecom" | "dingtalk" | "feishu",
  accepted: Accepted[],
  refused: number,
  busiestSecond: number,
  workerKills: number[],
  leaseMs: number,
): Promise<Check> {
  const rows = await NoticeDelivery.find({ channel }, { noticeId: 1, status: 1, attempts: 1, lastError: 1 }).lean();
  const by = (status: string) => rows.filter((r) => r.status === status);
  const got = new Set(accepted.map((a) => a.id));
  const lost = by("sent").filter((r) => !got.has(r.noticeId)).map((r) => `${r._id} sent but not at the robot`);
  const pending = by("pending").map((r) => `${r._id} pending`);
  const failed = by("failed").map((r) => `${r._id} failed: ${r.lastError}`);
  const { explained, unexplained } = robotRepeats(accepted, workerKills, leaseMs);
  const skipped = by("skipped").length;
  return {
    what: "the rate-limited robot: nothing lost, nothing sent twice but where a worker was killed while sending it",
    ok: !lost.length && !pending.length && !failed.length && !unexplained.length && by("sent").length > 0,
    detail: `${channel} deliveries: ${by("sent").length} sent, ${accepted.length} accepted by the robot, ${explained.length} repeated by a worker SIGKILLed while sending (${workerKills.length} kills), ${refused} refused for rate (retried), at most ${busiestSecond} in one second, ${skipped} below the instant level (left for the digest)${sample([...lost, ...pending, ...failed, ...unexplained, ...explained])}`,
  };
}
