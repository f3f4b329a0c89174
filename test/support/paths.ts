/**
 * Generated paths through a machine (@xstate/graph): for every reachable transition, the shortest
 * path to its source state followed by that transition. Candidate events are valid payloads sent
 * by every kind of actor; the machine decides which of them it takes.
 */
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths } from "@xstate/graph";
import type { AnyStateMachine } from "xstate";
import {
  addCalendarDays,
  shanghaiDate,
  stateKey,
  workflowOf,
  type Actor,
  type CaseEvent,
  type CaseKind,
  type Snapshot,
  type StateValue,
} from "../../workflows/index.ts";

export interface Cast {
  office: Actor;
  lead: Actor;
  co: Actor;
  system: Actor;
  /** With a leader, paths include 领导批示 and the office's 落实. */
  leader?: Actor;
  units: { lead: string; co: string };
}

type Command = { type: string; actor: Actor; payload: Record<string, unknown> };

/** Valid commands of every type, from every actor who might send them, given the context now. */
export function candidateCommands(kind: CaseKind, snapshot: Snapshot, cast: Cast, at: string): Command[] {
  const c = snapshot.context as { deadline: string | null; concludeBy?: string | null };
  const today = shanghaiDate(at);
  const later = (days: number) => addCalendarDays(c.deadline && c.deadline > today ? c.deadline : today, days);
  const reason = { reason: "理由说明" };
  const units = { leadUnitId: cast.units.lead, coUnitIds: [cast.units.co] };
  const o = (type: string, payload: Record<string, unknown> = {}) => ({ type, actor: cast.office, payload });
  const byUnits = (type: string, payload: Record<string, unknown>) => [
    { type, actor: cast.lead, payload },
    { type, actor: cast.co, payload },
  ];
  const progress = { percent: 40, text: "已完成 40%", attachmentIds: [] };
  const instructions = cast.leader
    ? [{ type: "INSTRUCT", actor: cast.leader, payload: { text: "请抓紧整改" } }, o("CARRY_OUT", { instruction: 1, text: "已督促单位落实" })]
    : [];
  const extension = { deadline: later(10), reason: "施工季节受限" };
  if (kind === "inspection")
    return [
      ...instructions,
      o("ASSIGN", { ...units, deadline: addCalendarDays(today, 90), requirements: "按期完成" }),
      ...byUnits("SIGN", {}),
      ...byUnits("RETURN", { reason: "非本单位职责" }),
      ...byUnits("REPORT_PROGRESS", progress),
      ...byUnits("REQUEST_EXTENSION", extension),
      o("APPROVE_EXTENSION"),
      o("REJECT_EXTENSION", reason),
      ...byUnits("WITHDRAW_EXTENSION", {}),
      ...byUnits("SUBMIT", { summary: "已完成整改", attachmentIds: ["evidence-1"] }),
      o("REJECT", reason),
      o("PASS", { checkedBy: "张三", checkedOn: today, opinion: "合格", attachmentIds: ["photo-1"], publicityDays: 0 }),
      o("PASS", { checkedBy: "张三", checkedOn: today, opinion: "合格", attachmentIds: ["photo-1"], publicityDays: 5 }),
      o("OBJECTION", reason),
      { type: "PUBLICITY_END", actor: cast.system, payload: {} },
      o("REOPEN", { reason: "回头看发现反弹", deadline: addCalendarDays(today, 60) }),
    ];
  const concludeBy = c.concludeBy ?? addCalendarDays(today, 60);
  return [
    ...instructions,
    o("ACCEPT"),
    o("DECLINE", reason),
    o("TRANSFER", { to: "市信访局" }),
    o("ASSIGN", { ...units, deadline: addCalendarDays(concludeBy, -15) }),
    ...byUnits("REPORT_PROGRESS", progress),
    ...byUnits("REQUEST_EXTENSION", extension),
    o("APPROVE_EXTENSION"),
    o("REJECT_EXTENSION", reason),
    ...byUnits("WITHDRAW_EXTENSION", {}),
    ...byUnits("SUBMIT_RESULT", { summary: "经查属实", violationFound: true, measures: "责令整改", attachmentIds: [] }),
    o("REJECT", reason),
    o("APPROVE"),
    o("REPLY", { text: "答复内容", channel: "书面" }),
    o("CLOSE", { visitedOn: today, visitMethod: "电话", satisfaction: "满意" }),
    o("REQUEST_REVIEW", { reason: "对答复不满意" }),
  ];
}

const toEvent = (c: Command, at: string): CaseEvent => ({ ...c.payload, type: c.type, actor: c.actor, at });

/** Equal when every guard would answer the same: the state plus the context facts guards read. */
function serialize(kind: CaseKind, s: Snapshot): string {
  const c = s.context as Record<string, unknown>;
  const facts = kind === "complaint" ? [c.leadUnitId !== null, c.repliedOn !== null, c.extensionCount] : [];
  const open = ((c.instructions ?? []) as { doneAt: string | null }[]).some((i) => !i.doneAt);
  return JSON.stringify([stateKey(s.value as StateValue), ...facts, ...(open ? ["批示待落实"] : [])]);
}

export interface Edge {
  from: string;
  command: Command;
  to: string;
  /** Commands that reach `from` from the initial state. */
  prefix: Command[];
}

export function generateEdges(kind: CaseKind, input: unknown, cast: Cast, at: string): Edge[] {
  const machine = workflowOf(kind).machine;
  const events = (s: Snapshot) =>
    candidateCommands(kind, s, cast, at)
      .map((c) => toEvent(c, at))
      .filter((e) => s.can(e));
  const options = { input, events, serializeState: (s: Snapshot) => serialize(kind, s), serializeEvent: (e: CaseEvent) => JSON.stringify(e) };
  const shortest = new Map(
    getShortestPaths(machine as AnyStateMachine, options as never).map((p) => [serialize(kind, p.state as Snapshot), p]),
  );
  const commandOf = (e: CaseEvent): Command => {
    const { type, actor, at: _at, ...payload } = e;
    return { type, actor, payload };
  };
  return adjacencyMapToArray(getAdjacencyMap(machine as AnyStateMachine, options as never)).map(({ state, event, nextState }) => {
    const path = shortest.get(serialize(kind, state as Snapshot));
    if (!path) throw new Error(`no path to ${serialize(kind, state as Snapshot)}`);
    return {
      from: stateKey((state as Snapshot).value as StateValue),
      command: commandOf(event as CaseEvent),
      to: stateKey((nextState as Snapshot).value as StateValue),
      prefix: path.steps.filter((st) => !st.event.type.startsWith("xstate.")).map((st) => commandOf(st.event as CaseEvent)),
    };
  });
}

/** Every transition written in the machine: source node, event type, target node (null: stays). */
export function definedTransitions(kind: CaseKind): { source: string; type: string; target: string | null }[] {
  const out: { source: string; type: string; target: string | null }[] = [];
  const walk = (node: AnyStateMachine["root"]) => {
    for (const [type, defs] of node.transitions) {
      for (const d of defs) out.push({ source: node.path.join("."), type, target: d.target?.[0]?.path.join(".") ?? null });
    }
    for (const child of Object.values(node.states)) walk(child);
  };
  walk(workflowOf(kind).machine.root);
  return out;
}

/** All state nodes, compound and leaf ("rectifying", "rectifying.working"). */
export function definedStates(kind: CaseKind): string[] {
  const out: string[] = [];
  const walk = (node: AnyStateMachine["root"]) => {
    for (const child of Object.values(node.states)) {
      out.push(child.path.join("."));
      walk(child);
    }
  };
  walk(workflowOf(kind).machine.root);
  return out;
}

export function covers(edge: { from: string; type: string; to: string }, t: { source: string; type: string; target: string | null }) {
  // The root ("") holds transitions taken in every state.
  const within = (key: string, node: string) => node === "" || key === node || key.startsWith(`${node}.`);
  return (
    edge.type === t.type &&
    within(edge.from, t.source) &&
    (t.target === null ? edge.to === edge.from : within(edge.to, t.target))
  );
}
