/** What the API shows of ledger documents: ids as `id`, no mongoose internals, identity masked for units. */
import { LEVEL_LABELS, eventLabel, stateLabel, type Actor, type Level } from "../../workflows/index.ts";
import type { ChainEntry } from "../cases/history.ts";
import type { CaseDoc, UnitDoc, UserDoc } from "../db/models.ts";
import { noticeState } from "../notices/inbox.ts";
import type { NoticeRecord } from "../notices/issuer.ts";
import { maskMobile } from "../notices/sms.ts";
import { presentTargets, type StoredTargets } from "../notices/targets.ts";

/**
 * 张三 → 张*, 13812345678 → 138****5678: the complained-about party must not learn who complained.
 * Any other number (a landline, with or without its area code) shows no digits: a landline's
 * 3 + 4 digits are most of its local number.
 */
export function maskComplainant(c: { name?: string | null; phone?: string | null; address?: string | null } | null | undefined) {
  if (!c) return null;
  const name = c.name ? `${[...c.name][0]}${"*".repeat(Math.max(1, [...c.name].length - 1))}` : null;
  const mobile = c.phone?.replace(/[\s-]/g, "").replace(/^\+?86/, "");
  const phone = c.phone ? (mobile && /^1\d{10}$/.test(mobile) ? `${mobile.slice(0, 3)}****${mobile.slice(-4)}` : "****") : null;
  return { name, phone, address: c.address ? "（已隐藏）" : null };
}

/** The complainant's identity is for the office alone (信访工作条例): units and leaders see it masked. */
export const seesComplainant = (actor: Actor) => actor.role === "office_admin" || actor.role === "office_staff";

export function presentCase(c: CaseDoc, actor: Actor) {
  const isOffice = seesComplainant(actor);
  return {
    id: c._id.toString(),
    kind: c.kind,
    ledgerNumber: c.ledgerNumber,
    title: c.title,
    description: c.description,
    category: c.category,
    source: c.source,
    round: c.round,
    goal: c.goal,
    measures: c.measures,
    immediate: c.immediate,
    longTerm: c.longTerm,
    plannedDeadline: c.plannedDeadline,
    plannedLeadUnitId: c.plannedLeadUnitId ?? null,
    plannedCoUnitIds: c.plannedCoUnitIds ?? [],
    channel: c.channel,
    complainant: c.kind === "complaint" ? (isOffice ? (c.complainant ?? null) : maskComplainant(c.complainant)) : undefined,
    receivedOn: c.receivedOn,
    state: c.state,
    stateLabel: stateLabel(c.kind, c.state),
    leadUnitId: c.leadUnitId,
    coUnitIds: c.coUnitIds,
    deadline: c.deadline,
    deadlineRevision: c.deadlineRevision,
    progressPercent: c.progressPercent,
    // When the case entered its state: how long it has waited there (the work lists).
    stateSince: c.stateSince ?? null,
    context: c.context,
    version: c.version,
    createdAt: (c as { createdAt?: Date }).createdAt,
    updatedAt: (c as { updatedAt?: Date }).updatedAt,
  };
}

export function presentEntry(e: ChainEntry) {
  return {
    seq: e.seq,
    type: e.type,
    typeLabel: eventLabel(e.type),
    actor: { id: e.actor.id, name: e.actor.name ?? null, role: e.actor.role, unitId: e.actor.unitId ?? null },
    at: e.at,
    from: e.from,
    to: e.to,
    payload: e.payload,
    deadlineRevision: e.deadlineRevision,
    hash: e.hash,
  };
}

export function presentNotice(n: NoticeRecord) {
  return {
    id: n._id,
    caseId: n.caseId,
    kind: n.kind,
    ledgerNumber: n.ledgerNumber,
    caseTitle: n.caseTitle,
    level: n.level,
    levelLabel: LEVEL_LABELS[n.level as Level] ?? n.level,
    number: n.number,
    revision: n.revision,
    unitId: n.unitId,
    manual: n.manual,
    deadline: n.deadline,
    requirement: n.requirement,
    points: n.points,
    dueAt: n.dueAt,
    issuedAt: n.issuedAt,
    state: noticeState(n),
    // The unit's channels by name ("wecom"); the office's and leaders' as "wecom@office", "sms@leader-…".
    deliveries: Object.fromEntries(
      (n.deliveries ?? []).map((d) => [d.recipient ? `${d.channel}@${d.recipient}` : d.channel, { target: d.target ?? null, status: d.status, attempts: d.attempts ?? 0, lastError: d.lastError ?? null, sentAt: d.sentAt ?? null, cancelReason: d.cancelReason ?? null, waitUntil: d.waitUntil ?? null }]),
    ),
    /** Whom the rung named and how each was reached, or 未配置接收渠道 (mobiles masked). */
    // 飞书 open_ids are the admin's (contacts), not part of what a notice shows.
    reach: (n.reach ?? []).map(({ feishu: _f, ...r }) => ({ ...r, people: r.people.map((p) => ({ ...p, mobile: p.mobile ? maskMobile(p.mobile) : null })), mentions: r.mentions.map(maskMobile), sms: r.sms.map(maskMobile) })),
    readAt: n.readAt,
    ackAt: n.ackAt,
  };
}

export function presentUnit(u: UnitDoc) {
  return {
    id: u._id.toString(),
    name: u.name,
    shortName: u.shortName ?? null,
    aliases: u.aliases,
    parentId: u.parentId,
    active: u.active,
  };
}

/** Office admins also see contacts and notification settings (never a secret or robot key: only that it is set). */
export function presentUnitForAdmin(u: UnitDoc) {
  return {
    ...presentUnit(u),
    contacts: u.contacts,
    notify: { emails: u.notify?.emails ?? [], webhookUrl: u.notify?.webhookUrl ?? null, webhookSecretSet: !!u.notify?.webhookSecret, ...presentTargets(u.notify as StoredTargets) },
  };
}

export function presentUser(u: UserDoc) {
  return { id: u._id.toString(), username: u.username, displayName: u.displayName, role: u.role, unitId: u.unitId, active: u.active };
}
