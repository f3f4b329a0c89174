/**
 * Who gets a morning digest, and where it goes: every active unit, the office, and each active leader.
 * The one seam to the directory's channels: today a unit's robots and email are its `notify`; the office
 * and leaders have no channel of their own yet (their digest is recorded, marked 未配置接收渠道). When
 * the office and leaders get channels and named contacts, point `digestRecipients` at that resolver.
 */
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { Unit, User } from "../db/models.ts";
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
  const unitIds = want ? [...want].filter((k) => k.startsWith("unit-")).map((k) => k.slice(5)) : null;
  const leaderIds = want ? [...want].filter((k) => k.startsWith("leader-")).map((k) => k.slice(7)) : null;
  const valid = (ids: string[] | null) => (ids ? ids.filter((i) => mongoose.isObjectIdOrHexString(i)) : null);
  const [units, leaders] = await Promise.all([
    unitIds && !valid(unitIds)!.length ? [] : Unit.find({ active: true, ...(unitIds ? { _id: mongoose.trusted({ $in: valid(unitIds) }) } : {}) }, { name: 1, notify: 1 }).sort({ name: 1 }).lean(),
    leaderIds && !valid(leaderIds)!.length ? [] : User.find({ role: "leader", active: true, ...(leaderIds ? { _id: mongoose.trusted({ $in: valid(leaderIds) }) } : {}) }, { displayName: 1 }).sort({ username: 1 }).lean(),
  ]);
  const out: DigestRecipient[] = units.map((u) => {
    const id = u._id.toString();
    return { key: `unit-${id}`, kind: "unit", name: u.name, unitId: id, actor: recipientActor("unit", `digest-${id}`, u.name, id), robots: (u.notify ?? null) as StoredTargets | null, emails: u.notify?.emails ?? [] };
  });
  if (!want || want.has("office")) out.push({ key: "office", kind: "office", name: "整改办", unitId: null, actor: recipientActor("office", "digest-office", "整改办", null), robots: null, emails: [] });
  for (const l of leaders) {
    const id = l._id.toString();
    out.push({ key: `leader-${id}`, kind: "leader", name: l.displayName, unitId: null, actor: recipientActor("leader", id, l.displayName, null), robots: null, emails: [] });
  }
  return out;
}
