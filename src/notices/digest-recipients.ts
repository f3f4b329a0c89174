/**
 * Who gets a morning digest, and where it goes: every active unit, the office, and each active leader.
 * A unit's robots and email are its `notify`; the office's and each leader's are theirs in 接收渠道
 * (addressees.ts). One without any is still recorded, marked 未配置接收渠道.
 */
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { Addressee, Unit } from "../db/models.ts";
import { OFFICE_ID } from "./recipients.ts";
import type { StoredTargets } from "./targets.ts";

export type RecipientKind = "unit" | "office" | "leader";

export interface DigestRecipient {
  /** Stable per recipient: `unit-<id>`, `office`, `leader-<userId>`. */
  key: string;
  kind: RecipientKind;
  name: string;
  unitId: string | null;
  /** Whose view the digest is drawn from (what this recipient may see). */
  actor: Actor;
  /** Group robots (and mentions) the digest goes to. */
  robots: StoredTargets | null;
  emails: string[];
}

const recipientActor = (kind: RecipientKind, id: string, name: string, unitId: string | null): Actor => ({
  id,
  name,
  role: kind === "unit" ? "unit_user" : kind === "office" ? "office_staff" : "leader",
  unitId,
});

/** Every recipient of a digest, or those whose keys are given (a delivery job reads its recipient's channels as they are now). */
export async function digestRecipients(keys?: string[]): Promise<DigestRecipient[]> {
  const want = keys ? new Set(keys) : null;
  const unitIds = want ? [...want].filter((k) => k.startsWith("unit-")).map((k) => k.slice(5)).filter((i) => mongoose.isObjectIdOrHexString(i)) : null;
  const named = want ? [...want].filter((k) => k === OFFICE_ID || k.startsWith("leader-")) : null;
  const [units, addressees] = await Promise.all([
    unitIds && !unitIds.length ? [] : Unit.find({ active: true, ...(unitIds ? { _id: mongoose.trusted({ $in: unitIds }) } : {}) }, { name: 1, notify: 1 }).sort({ name: 1 }).lean(),
    // The office and the leaders as 接收渠道 has them (recipients.ts); the office gets one even before its first edit.
    named && !named.length ? [] : Addressee.find(named ? { _id: mongoose.trusted({ $in: named }) } : {}).sort({ name: 1 }).lean(),
  ]);
  const office = addressees.find((a) => a._id === OFFICE_ID);
  const leaders = addressees.filter((a) => a.kind === "leader");
  const channels = (notify: unknown) => ({ robots: (notify ?? null) as StoredTargets | null, emails: ((notify as { emails?: string[] } | null)?.emails ?? []) as string[] });
  const out: DigestRecipient[] = units.map((u) => {
    const id = u._id.toString();
    return { key: `unit-${id}`, kind: "unit", name: u.name, unitId: id, actor: recipientActor("unit", `digest-${id}`, u.name, id), ...channels(u.notify) };
  });
  if (!want || want.has(OFFICE_ID)) out.push({ key: OFFICE_ID, kind: "office", name: "整改办", unitId: null, actor: recipientActor("office", "digest-office", "整改办", null), ...channels(office?.notify) });
  for (const l of leaders) out.push({ key: l._id, kind: "leader", name: l.name, unitId: null, actor: recipientActor("leader", `digest-${l._id}`, l.name, null), ...channels(l.notify) });
  return out;
}
