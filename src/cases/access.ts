/** Who may see a case: office, leaders and the system see all; a unit only cases it leads or joins. */
import type { Actor } from "../../workflows/index.ts";

export function canSee(actor: Actor, c: { leadUnitId?: string | null; coUnitIds?: string[] | null }): boolean {
  if (actor.role !== "unit_user") return true;
  if (!actor.unitId) return false;
  return c.leadUnitId === actor.unitId || (c.coUnitIds ?? []).includes(actor.unitId);
}

/** The same rule as a MongoDB filter, for lists and counts. */
export function visibleFilter(actor: Actor): Record<string, unknown> {
  if (actor.role !== "unit_user") return {};
  if (!actor.unitId) return { _id: null };
  return { $or: [{ leadUnitId: actor.unitId }, { coUnitIds: actor.unitId }] };
}
