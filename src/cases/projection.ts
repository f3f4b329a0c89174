/**
 * What a case's machine snapshot projects onto the case document: the state, units, deadline and the
 * other fields the lists, indexes and counts read. The snapshot itself stays the truth (it is in the
 * history entry); the projection is rebuilt from it by every event and by a roll-forward.
 */
import {
  behindScheduleAt,
  instructionOpenSince,
  startCase,
  stateKey,
  type CaseKind,
  type Instruction,
  type MachineInput,
  type StateValue,
} from "../../workflows/index.ts";
import { canonicalJson } from "./history.ts";

export interface StoredSnapshot {
  value: unknown;
  context: unknown;
}

/** The queryable projection of a snapshot, written on the case document. */
export function project(kind: CaseKind, snapshot: StoredSnapshot, margin: number | null) {
  const c = snapshot.context as {
    leadUnitId?: string | null;
    coUnitIds?: string[];
    deadline?: string | null;
    deadlineRevision: number;
    progressPercent?: number;
  };
  const instructions = (c as { instructions?: Instruction[] }).instructions ?? [];
  const instructionSince = instructionOpenSince({ instructions });
  return {
    state: stateKey(snapshot.value as StateValue),
    stateValue: snapshot.value,
    context: c,
    leadUnitId: c.leadUnitId ?? null,
    coUnitIds: c.coUnitIds ?? [],
    unitIds: unitIdsOf(c.leadUnitId, c.coUnitIds),
    deadline: c.deadline ?? null,
    deadlineSort: deadlineSortKey(c.deadline),
    deadlineRevision: c.deadlineRevision,
    progressPercent: c.progressPercent ?? 0,
    behindFrom: margin === null ? null : behindScheduleAt({ kind, state: stateKey(snapshot.value as StateValue), context: c }, margin),
    instructionSince: instructionSince ? new Date(instructionSince) : null,
    // Absent until a 批示 is written, so the sparse index holds only cases that have one.
    ...(instructions.length ? { instructedBy: [...new Set(instructions.map((i) => i.by))] } : {}),
  };
}

/** The units of a case, lead first: who sees it and whom the unit filter finds. */
export const unitIdsOf = (lead: string | null | undefined, co: string[] | null | undefined) => [...new Set([...(lead ? [lead] : []), ...(co ?? [])])];

/** The key the 台账 sorts by nearest deadline: the deadline, or "~" (after every date) when there is none. */
export const deadlineSortKey = (deadline: string | null | undefined) => deadline ?? "~";

export const snapshotOf = (s: { value: unknown; context: unknown }): StoredSnapshot => ({ value: s.value, context: s.context });

/**
 * Initial snapshots by input: starting a machine costs ~0.1 ms and a bulk registration starts
 * thousands alike; the machines are pure, so one start per input serves (each caller gets a copy).
 */
const initialSnapshots = new Map<string, StoredSnapshot>();
export function initialSnapshot<K extends CaseKind>(kind: K, input: MachineInput[K]): StoredSnapshot {
  const key = `${kind}:${canonicalJson(input)}`;
  let s = initialSnapshots.get(key);
  if (!s) {
    if (initialSnapshots.size >= 1000) initialSnapshots.clear();
    s = snapshotOf(startCase(kind, input));
    initialSnapshots.set(key, s);
  }
  return structuredClone(s);
}
