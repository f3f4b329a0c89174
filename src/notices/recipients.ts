/**
 * Who a rung reaches. A rule names recipients (unit, unit head, office, leader); each resolves here to
 * a target whose channels carry the message (the unit's, the office's, each leader's own `notify`)
 * and the named people on it (contacts with mobiles): the unit head is @-mentioned on the unit's
 * robots and texted, a leader on their own robot and by SMS. A recipient left with no channel is
 * returned with `missing` ("未配置接收渠道"), so the notice says so instead of skipping in silence.
 *
 * Pure resolution (`resolveWith`) over a directory loaded once (`loadDirectory`), so issuing many
 * notices reads units and addressees once; `resolveRecipients` does both for one recipient list.
 */
import mongoose from "mongoose";
import type { Recipient } from "../../workflows/index.ts";
import { Addressee, Unit } from "../db/models.ts";
import { ROBOT_CHANNELS, configured, type StoredTargets } from "./targets.ts";

export type { Recipient };
export const RECIPIENT_LABELS: Record<Recipient, string> = { unit: "责任单位", unit_head: "责任单位主要负责人", office: "整改办", leader: "分管领导" };
export const CONTACT_ROLES = ["head", "liaison", "staff", "leader"] as const;
export type ContactRole = (typeof CONTACT_ROLES)[number];
export const CONTACT_ROLE_LABELS: Record<ContactRole, string> = { head: "主要负责人", liaison: "联络员", staff: "工作人员", leader: "领导" };
export const NO_CHANNEL = "未配置接收渠道";

/** The office's addressee id; a leader's is `leader-<hex>`. */
export const OFFICE_ID = "office";
export const ADDRESSEE_ID = /^(office|leader-[0-9a-f]{12})$/;

export interface Contact {
  name: string;
  title?: string | null;
  role?: ContactRole | string | null;
  mobile?: string | null;
  email?: string | null;
  /** 飞书 open_id (ou_…). */
  feishuId?: string | null;
}

/** A person on a 飞书 robot: @-mentioned by open_id, or (none) named plainly. */
export interface FeishuAt {
  id: string | null;
  name: string;
}

/** Channels and people of one unit, the office or a leader, as stored (secrets included: never shown). */
export interface Target {
  /** null: a unit (its deliveries keep the plain `<notice>:<channel>` id); else the addressee's id. */
  id: string | null;
  kind: "unit" | "office" | "leader";
  name: string;
  title?: string;
  unitIds?: string[];
  contacts: Contact[];
  notify: (StoredTargets & { emails?: string[]; webhookUrl?: string | null; webhookSecret?: string | null }) | null;
}

/** The external channels a message can take (the inbox is the issuer's, per addressee). */
export type ExternalChannel = "email" | "webhook" | "wecom" | "dingtalk" | "feishu" | "sms";

/** One recipient of a rung, resolved: where it goes and to whom. */
export interface Reach {
  recipient: Recipient;
  /** The target's id (null: the case's unit) and name. */
  target: string | null;
  name: string;
  /** The people named: the unit head, the office's staff on call, the leader. */
  people: { name: string; title: string; role: string; mobile: string | null }[];
  channels: ExternalChannel[];
  /** Mobiles to @ on the target's robots (its configured mentions and the people named). */
  mentions: string[];
  /** Mobiles to text. */
  sms: string[];
  /** The people named on the target's 飞书 robot (there are no mentions by mobile). */
  feishu?: FeishuAt[];
  /** Why nothing reaches it: NO_CHANNEL with the gap, or null. */
  missing: string | null;
}

export interface Directory {
  units: Map<string, Target>;
  office: Target | null;
  leaders: Target[];
}

const uniq = (xs: string[]) => [...new Set(xs.filter(Boolean))];
const MOBILE = /^1\d{10}$/;
const mobilesOf = (people: Contact[]) => uniq(people.map((p) => (p.mobile ?? "").trim()).filter((m) => MOBILE.test(m)));

/** The external channels a target's own settings give it (SMS: some mobile of its own). */
function ownChannels(t: Target): Set<ExternalChannel> {
  const n = t.notify;
  const has = new Set<ExternalChannel>(ROBOT_CHANNELS.filter((c) => configured(n, c)));
  if (n?.emails?.length) has.add("email");
  if (t.kind === "unit" && n?.webhookUrl) has.add("webhook");
  return has;
}

/** One target reached for a recipient, with these people named on it. */
function reachOf(recipient: Recipient, t: Target, people: Contact[], extra: { inbox?: boolean; gap?: string; any?: boolean } = {}): Reach {
  const has = ownChannels(t);
  const named = mobilesOf(people);
  const mentions = uniq([...(t.notify?.wecom?.mobiles ?? []), ...(t.notify?.dingtalk?.mobiles ?? []), ...named]);
  const sms = uniq([...(t.notify?.sms?.mobiles ?? []), ...named]);
  if (sms.length) has.add("sms");
  const channels = [...has].sort();
  // The unit head is reached only in person (a mention or a text); anyone else by any channel (or the inbox).
  const feishu = has.has("feishu") ? people.map((p) => ({ id: p.feishuId || null, name: p.name })) : [];
  const inPerson = (named.length > 0 && (has.has("sms") || has.has("wecom") || has.has("dingtalk"))) || feishu.some((p) => p.id);
  const reached = (people.length || extra.gap) && !extra.any ? inPerson : channels.length > 0 || !!extra.inbox;
  return {
    recipient,
    target: t.id,
    name: t.title ? `${t.title} ${t.name}` : t.name,
    people: people.map((p) => ({ name: p.name, title: p.title ?? "", role: p.role ?? "", mobile: p.mobile ?? null })),
    channels,
    mentions: ROBOT_CHANNELS.some((c) => c !== "sms" && has.has(c)) ? mentions : [],
    sms: has.has("sms") ? sms : [],
    ...(feishu.length ? { feishu } : {}),
    missing: reached ? null : extra.gap ? `${NO_CHANNEL}（${extra.gap}）` : NO_CHANNEL,
  };
}

/**
 * Resolves recipients for a case of `unitId` (null: no unit holds it). `unitHolds`: the unit holds
 * the case, so unit and unit head are reached (a rung on the office's time never reaches a unit);
 * `inbox`: whose in-app inbox the notice lands in (that counts as reaching the unit or the office).
 */
export function resolveWith(dir: Directory, recipients: readonly Recipient[], ctx: { unitId: string | null; unitHolds?: boolean; inbox?: "unit" | "office" | null }): Reach[] {
  const out: Reach[] = [];
  const unit = ctx.unitId ? dir.units.get(ctx.unitId) : undefined;
  const unitHolds = ctx.unitHolds ?? true;
  for (const r of uniq([...recipients]) as Recipient[]) {
    if ((r === "unit" || r === "unit_head") && (!unit || !unitHolds)) continue;
    if (r === "unit") out.push(reachOf(r, unit!, [], { inbox: ctx.inbox === "unit" }));
    else if (r === "unit_head") {
      const heads = unit!.contacts.filter((c) => c.role === "head");
      out.push(reachOf(r, unit!, heads, { gap: heads.length ? (mobilesOf(heads).length || heads.some((h) => h.feishuId) ? undefined : "负责人未登记手机号") : "未登记单位主要负责人" }));
    } else if (r === "office") {
      const office = dir.office ?? { id: OFFICE_ID, kind: "office" as const, name: "整改办", contacts: [], notify: null };
      // The office's staff on record are @-mentioned on its robot and texted, as a leader's people are.
      out.push(reachOf(r, office, office.contacts, { inbox: ctx.inbox === "office", any: true }));
    } else if (r === "leader") {
      const leaders = dir.leaders.filter((l) => !l.unitIds?.length || (ctx.unitId !== null && l.unitIds.includes(ctx.unitId)));
      if (!leaders.length) out.push({ recipient: r, target: null, name: RECIPIENT_LABELS.leader, people: [], channels: [], mentions: [], sms: [], missing: `${NO_CHANNEL}（未登记领导）` });
      for (const l of leaders) out.push(reachOf(r, l, l.contacts, { any: true }));
    }
  }
  return out;
}

const toTarget = (kind: Target["kind"], d: { _id: unknown; name: string; title?: string | null; unitIds?: string[]; contacts?: unknown; notify?: unknown }): Target => ({
  id: kind === "unit" ? null : String(d._id),
  kind,
  name: d.name,
  title: d.title ?? "",
  unitIds: d.unitIds ?? [],
  contacts: ((d.contacts as Contact[] | undefined) ?? []).map((c) => ({ ...c })),
  notify: (d.notify ?? null) as Target["notify"],
});

/** The units given, the office and every leader: what resolution reads. */
export async function loadDirectory(unitIds: string[]): Promise<Directory> {
  const ids = uniq(unitIds).filter((id) => mongoose.isObjectIdOrHexString(id));
  const [units, addressees] = await Promise.all([
    ids.length ? Unit.find({ _id: mongoose.trusted({ $in: ids }) }, { name: 1, notify: 1, contacts: 1 }).lean() : Promise.resolve([]),
    Addressee.find({}).lean(),
  ]);
  const officeDoc = addressees.find((a) => a.kind === "office");
  return {
    units: new Map(units.map((u) => [u._id.toString(), toTarget("unit", u)])),
    office: officeDoc ? toTarget("office", officeDoc) : null,
    leaders: addressees.filter((a) => a.kind === "leader").sort((a, b) => String(a.name).localeCompare(String(b.name), "zh")).map((a) => toTarget("leader", a)),
  };
}

/**
 * One recipient list resolved to channels and people, e.g. for a morning digest:
 * `resolveRecipients(["unit_head"], { unitId })`, `resolveRecipients(["office"])`,
 * `resolveRecipients(["leader"], { unitId: null })` (every leader; with a unit, those over it).
 */
export async function resolveRecipients(recipients: readonly Recipient[], ctx: { unitId?: string | null; unitHolds?: boolean; inbox?: "unit" | "office" | null } = {}): Promise<Reach[]> {
  const unitId = ctx.unitId ?? null;
  return resolveWith(await loadDirectory(unitId ? [unitId] : []), recipients, { ...ctx, unitId });
}

/** A target's stored channels and people by its key: a unit's id, `office` or `leader-…`. */
export async function loadTarget(key: string): Promise<Target | null> {
  if (ADDRESSEE_ID.test(key)) {
    const a = await Addressee.findById(key).lean();
    if (a) return toTarget(a.kind as "office" | "leader", a);
    return key === OFFICE_ID ? { id: OFFICE_ID, kind: "office", name: "整改办", contacts: [], notify: null } : null;
  }
  if (!mongoose.isObjectIdOrHexString(key)) return null;
  const u = await Unit.findById(key, { name: 1, notify: 1, contacts: 1 }).lean();
  return u ? toTarget("unit", u) : null;
}

/** The line a notice shows for a reach: "整改办：企业微信机器人、短信" or "分管领导：未配置接收渠道". */
export function reachText(r: Pick<Reach, "recipient" | "name" | "people" | "channels" | "missing">, labels: Record<string, string>): string {
  const who = `${RECIPIENT_LABELS[r.recipient] ?? r.recipient}${r.name && r.name !== RECIPIENT_LABELS[r.recipient] ? `（${r.name}${r.people.length ? ` ${r.people.map((p) => p.name).join("、")}` : ""}）` : ""}`;
  if (r.missing) return `${who}：${r.missing}`;
  return `${who}：${r.channels.map((c) => labels[c] ?? c).join("、") || "站内通知"}`;
}
