/**
 * Kind → machine, and the questions the rest of the system asks a machine: which events may
 * this actor send now, why is this one refused, what comes next. Pure.
 */
import { __unsafe_getAllOwnEventDescriptors, initialTransition, transition, type AnyStateMachine } from "xstate";
import type { z } from "zod";
import { complaintMachine, complaintPayloads, complaintRules, type ComplaintInput } from "./complaint.ts";
import { violationsOf, type Actor, type Envelope, type Violation } from "./common.ts";
import { inspectionMachine, inspectionPayloads, inspectionRules, type InspectionInput } from "./inspection.ts";

export * from "./common.ts";
export { complaintMachine, inspectionMachine };
export { DEFAULT_COMPLAINT_LIMITS, REPLY_CHANNELS, SATISFACTION, VISIT_METHODS, type ComplaintContext, type ComplaintLimits } from "./complaint.ts";
export type { InspectionContext, Verification } from "./inspection.ts";

export const CASE_KINDS = ["inspection", "complaint"] as const;
export type CaseKind = (typeof CASE_KINDS)[number];
export type MachineInput = { inspection: InspectionInput; complaint: ComplaintInput };

interface Workflow {
  machine: AnyStateMachine;
  payloads: Record<string, z.ZodType>;
  rules: Partial<Record<string, { field: string; message: string; test: (c: never, e: never) => boolean }[]>>;
}

const workflows: Record<CaseKind, Workflow> = {
  inspection: { machine: inspectionMachine, payloads: inspectionPayloads, rules: inspectionRules as Workflow["rules"] },
  complaint: { machine: complaintMachine, payloads: complaintPayloads, rules: complaintRules as Workflow["rules"] },
};

export const isCaseKind = (k: unknown): k is CaseKind => typeof k === "string" && (CASE_KINDS as readonly string[]).includes(k);

export function workflowOf(kind: CaseKind): Workflow {
  return workflows[kind];
}

/** The payload schema of an event type of this kind; undefined for any other name ("toString" too). */
export function payloadSchemaOf(kind: CaseKind, type: string): z.ZodType | undefined {
  const { payloads } = workflows[kind];
  return Object.hasOwn(payloads, type) ? payloads[type] : undefined;
}

/** Every event type a kind knows, in definition order. */
export function eventTypesOf(kind: CaseKind): string[] {
  return Object.keys(workflows[kind].payloads);
}

export type StateValue = string | { [k: string]: StateValue };
export type Snapshot = ReturnType<AnyStateMachine["resolveState"]>;
export type CaseEvent = { type: string } & Envelope & Record<string, unknown>;

/** The first snapshot of a new case. */
export function startCase<K extends CaseKind>(kind: K, input: MachineInput[K]): Snapshot {
  const [snapshot] = initialTransition(workflows[kind].machine, input);
  return snapshot;
}

/** A persisted `{value, context}` back into a snapshot the machine can transition. */
export function restore(kind: CaseKind, value: StateValue, context: unknown): Snapshot {
  return workflows[kind].machine.resolveState({ value, context });
}

/** "rectifying.extensionPending" for {rectifying: "extensionPending"}. */
export function stateKey(value: StateValue): string {
  if (typeof value === "string") return value;
  const [k, v] = Object.entries(value)[0]!;
  return `${k}.${stateKey(v)}`;
}

/** Event types the current state handles at all, for any actor. */
export function handledEvents(snapshot: Snapshot): string[] {
  return [...new Set<string>(__unsafe_getAllOwnEventDescriptors(snapshot) as string[])].filter((t) => !t.startsWith("xstate."));
}

/** Event types this actor may send now, given some valid payload. */
export function allowedEvents(snapshot: Snapshot, actor: Actor, at: string): string[] {
  return handledEvents(snapshot).filter((type) => snapshot.can({ type, actor, at, probe: true }));
}

/**
 * Why the case's situation blocks this event now, whatever its payload (its situation rules that fail), for
 * an actor whose role allows it: e.g. 申请销号 while an extension request is pending.
 */
export function situationViolations(kind: CaseKind, snapshot: Snapshot, event: CaseEvent): Violation[] {
  const rules = (workflows[kind].rules[event.type] ?? []).filter((r) => (r as { situation?: boolean }).situation);
  return violationsOf(rules as never, snapshot.context as never, event as never);
}

/** Events this actor's role allows here but the case's situation blocks now, each with the reasons. */
export function blockedEvents(kind: CaseKind, snapshot: Snapshot, actor: Actor, at: string): { type: string; reasons: string[] }[] {
  return handledEvents(snapshot)
    .filter((type) => snapshot.can({ type, actor, at, probe: "role" }) && !snapshot.can({ type, actor, at, probe: true }))
    .map((type) => ({ type, reasons: situationViolations(kind, snapshot, { type, actor, at, probe: true }).map((v) => v.message) }))
    .filter((b) => b.reasons.length > 0);
}

/** Which rules of the kind this event breaks in the current context (field + Chinese message). */
export function ruleViolations(kind: CaseKind, snapshot: Snapshot, event: CaseEvent): Violation[] {
  return violationsOf(workflows[kind].rules[event.type] as never, snapshot.context as never, event as never);
}

/** The next snapshot, or null when the machine refuses the event. Runs no actions. */
export function step(kind: CaseKind, snapshot: Snapshot, event: CaseEvent): Snapshot | null {
  const [next] = transition(workflows[kind].machine, snapshot, event as never);
  return next === snapshot ? null : next;
}
export { ANCHOR_LABELS, EVENT_LABELS, KIND_LABELS, ROLE_LABELS, STATE_LABELS, eventLabel, stateFilterChoices, stateLabel } from "./labels.ts";
export * from "./deadlines.ts";
export * from "./duties.ts";
export * from "./figures.ts";

/** Every state key of a kind: its leaves and the states that contain them ("rectifying", "rectifying.working"). */
export function stateKeys(kind: CaseKind): string[] {
  return [...new Set(leafStates(kind).flatMap((leaf) => leaf.split(".").map((_, i, parts) => parts.slice(0, i + 1).join("."))))];
}

export function leafStates(kind: CaseKind): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateMachine["root"]) => {
    const children = Object.values(node.states);
    if (!children.length) out.push(node.path.join("."));
    for (const child of children) walk(child);
  };
  walk(workflows[kind].machine.root);
  return out;
}
