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
  // unitIds: the lead and co-units (the case service writes it), one field where an $or of two needed two indexes and could not walk a sort's.
  return { unitIds: actor.unitId };
}
