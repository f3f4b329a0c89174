/**
 * 督察反馈问题 (inspection-feedback problem): registered → assigned → rectifying → verifying →
 * publicizing → closed, with returns, extensions, objections and reopening (docs/domain.md#inspection).
 * The machine is the only authority on which event is allowed; it holds no timers: deadlines
 * are context the rest of the system acts on.
 */
import { and, assign, setup } from "xstate";
import { z } from "zod";
import {
  attachmentIds,
  carriedOut,
  hasOpenInstruction,
  instructed,
  instructionPayloads,
  instructionRules,
  isLeader,
  empty,
  id,
  isOfficeRole,
  isoDate,
  noPendingExtension,
  optionalText,
  percent,
  reportedProgress,
  requestedDateNotPast,
  requestedExtension,
  rulesHold,
  shanghaiDate,
  text,
  type Envelope,
  type GrantedExtension,
  type Instruction,
  type PendingExtension,
  type Rule,
} from "./common.ts";
import { PUBLICITY_DAYS } from "./deadlines.ts";

export const inspectionPayloads = {
  ASSIGN: z.object({
    leadUnitId: id("牵头单位"),
    coUnitIds: z.array(id("配合单位"), { error: "配合单位格式不正确" }).max(50, { error: "配合单位最多 50 个" }).default([]),
    deadline: isoDate("整改时限").optional(),
    requirements: optionalText("整改要求"),
  }),
  SIGN: empty,
  RETURN: z.object({ reason: text("退回理由") }),
  REPORT_PROGRESS: z.object({ percent, text: text("进展情况"), attachmentIds }),
  REQUEST_EXTENSION: z.object({ deadline: isoDate("申请延期至"), reason: text("延期理由") }),
  APPROVE_EXTENSION: empty,
  REJECT_EXTENSION: z.object({ reason: text("不同意延期的理由") }),
  WITHDRAW_EXTENSION: empty,
  SUBMIT: z.object({ summary: text("整改完成情况"), attachmentIds }),
  REJECT: z.object({ reason: text("退回理由") }),
  // 审核通过 records the office's 现场核查 (验收): who checked, when, the opinion and the photos or documents.
  PASS: z.object({
    checkedBy: text("核查（验收）人员", 200),
    checkedOn: isoDate("核查（验收）日期"),
    opinion: text("核查（验收）意见"),
    attachmentIds,
    publicityDays: z
      .number({ error: "公示天数应为数字" })
      .int({ error: "公示天数应为整数" })
      .min(0, { error: "公示天数不能小于 0" })
      .max(30, { error: "公示天数不能超过 30 个工作日" })
      .optional(),
  }),
  OBJECTION: z.object({ reason: text("异议内容") }),
  PUBLICITY_END: empty,
  REOPEN: z.object({ reason: text("重新整改的理由"), deadline: isoDate("新的整改时限") }),
  ...instructionPayloads,
} as const;

type Payloads = { [K in keyof typeof inspectionPayloads]: z.output<(typeof inspectionPayloads)[K]> };
export type InspectionEventType = keyof Payloads;
export type InspectionEvent = { [K in InspectionEventType]: { type: K } & Payloads[K] & Envelope }[InspectionEventType];

export interface InspectionInput {
  longTerm?: boolean;
  publicityDays?: number;
}

export interface InspectionContext {
  /** 领导批示 on the case and their 落实 (docs/domain.md#instructions); absent on cases stored before them. */
  instructions?: Instruction[];
  leadUnitId: string | null;
  coUnitIds: string[];
  requirements: string | null;
  assignedOn: string | null;
  deadline: string | null;
  deadlineRevision: number;
  longTerm: boolean;
  progressPercent: number;
  lastProgressOn: string | null;
  pendingExtension: PendingExtension | null;
  /** The last approved extension: its deadline revision and the day the office approved it. */
  extensionGranted?: GrantedExtension | null;
  extensionCount: number;
  reopenCount: number;
  /** When the lead unit last handed the item back (申请销号). */
  submittedOn: string | null;
  /** The office's last 现场核查 (验收). */
  verification: Verification | null;
  publicityDays: number;
  publicitySince: string | null;
  closedOn: string | null;
}

export interface Verification {
  checkedBy: string;
  checkedOn: string;
  opinion: string;
  attachmentIds: string[];
}

type R = Rule<InspectionContext, InspectionEvent>;
const today = (e: InspectionEvent) => shanghaiDate(e.at);
const notPast = (field: string, what: string): R => ({
  field,
  message: `${what}不能早于今天`,
  test: (_c, e) => !("deadline" in e) || e.deadline === undefined || e.deadline >= today(e),
});

/** Rules a well-formed payload must meet in the current context; the guards enforce them and the
 * case service reports the failing ones by field. */
const INSTRUCTION_RULES = instructionRules<InspectionContext, InspectionEvent>();

export const inspectionRules: Partial<Record<InspectionEventType, R[]>> = {
  ...INSTRUCTION_RULES,
  ASSIGN: [
    {
      field: "deadline",
      message: "请填写整改时限（长期坚持类问题除外）",
      test: (c, e) => c.longTerm || (e.type === "ASSIGN" && e.deadline !== undefined),
    },
    notPast("deadline", "整改时限"),
    {
      field: "coUnitIds",
      message: "牵头单位不能同时作为配合单位",
      test: (_c, e) => e.type !== "ASSIGN" || !e.coUnitIds.includes(e.leadUnitId),
    },
  ],
  REQUEST_EXTENSION: [
    notPast("deadline", "延期后的时限"),
    {
      field: "deadline",
      message: "延期后的时限应晚于当前整改时限",
      test: (c, e) => e.type !== "REQUEST_EXTENSION" || c.deadline === null || e.deadline > c.deadline,
    },
  ],
  APPROVE_EXTENSION: [requestedDateNotPast()],
  SUBMIT: [
    noPendingExtension("申请销号"),
    {
      field: "attachmentIds",
      message: "申请销号须上传佐证材料",
      test: (_c, e) => e.type !== "SUBMIT" || e.attachmentIds.length > 0,
    },
  ],
  PASS: [
    {
      field: "checkedOn",
      message: "核查（验收）日期不能晚于今天",
      test: (_c, e) => e.type !== "PASS" || e.checkedOn <= today(e),
    },
    {
      field: "checkedOn",
      message: "核查（验收）日期不能早于申请销号的日期",
      test: (c, e) => e.type !== "PASS" || c.submittedOn === null || e.checkedOn >= c.submittedOn,
    },
    {
      field: "attachmentIds",
      message: "请上传现场核查（验收）的照片或资料",
      test: (_c, e) => e.type !== "PASS" || e.attachmentIds.length > 0,
    },
  ],
  REOPEN: [notPast("deadline", "新的整改时限")],
};

export const inspectionMachine = setup({
  types: {
    context: {} as InspectionContext,
    events: {} as InspectionEvent,
    input: {} as InspectionInput,
  },
  guards: {
    office: ({ event }) => isOfficeRole(event.actor.role),
    system: ({ event }) => event.actor.role === "system",
    leadUnit: ({ context, event }) =>
      event.actor.role === "unit_user" && !!event.actor.unitId && event.actor.unitId === context.leadUnitId,
    involvedUnit: ({ context, event }) =>
      event.actor.role === "unit_user" &&
      !!event.actor.unitId &&
      (event.actor.unitId === context.leadUnitId || context.coUnitIds.includes(event.actor.unitId)),
    leader: ({ event }) => isLeader(event.actor.role),
    openInstruction: ({ context, event }) => hasOpenInstruction(context, event),
    rulesHold: ({ context, event }) => rulesHold(inspectionRules[event.type], context, event),
    skipsPublicity: ({ context, event }) =>
      event.type === "PASS" && (event.publicityDays ?? context.publicityDays) === 0,
  },
  actions: {
    instructed: assign(({ context, event }) => instructed(context, event)),
    carriedOut: assign(({ context, event }) => carriedOut(context, event)),
    verified: assign(({ event }) =>
      event.type === "PASS" ? { verification: { checkedBy: event.checkedBy, checkedOn: event.checkedOn, opinion: event.opinion, attachmentIds: event.attachmentIds } } : {},
    ),
    newDeadline: assign(({ context, event }) => {
      const deadline = "deadline" in event ? (event.deadline ?? null) : context.deadline;
      return { deadline, deadlineRevision: context.deadlineRevision + 1 };
    }),
  },
}).createMachine({
  id: "inspection",
  context: ({ input }) => ({
    leadUnitId: null,
    coUnitIds: [],
    requirements: null,
    assignedOn: null,
    deadline: null,
    deadlineRevision: 0,
    longTerm: input.longTerm ?? false,
    progressPercent: 0,
    lastProgressOn: null,
    pendingExtension: null,
    extensionGranted: null,
    extensionCount: 0,
    reopenCount: 0,
    submittedOn: null,
    verification: null,
    publicityDays: input.publicityDays ?? PUBLICITY_DAYS,
    publicitySince: null,
    closedOn: null,
  }),
  // The office records how a 批示 was carried out (落实情况) in any state: a case may close before it does.
  on: { CARRY_OUT: { guard: and(["office", "openInstruction", "rulesHold"]), actions: "carriedOut" } },
  initial: "registered",
  states: {
    registered: {
      on: {
        // 领导批示: any time before the case is closed; no change of state.
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        ASSIGN: {
          target: "assigned",
          guard: and(["office", "rulesHold"]),
          actions: [
            assign(({ event }) =>
              event.type === "ASSIGN"
                ? {
                    leadUnitId: event.leadUnitId,
                    coUnitIds: event.coUnitIds,
                    requirements: event.requirements ?? null,
                    assignedOn: shanghaiDate(event.at),
                  }
                : {},
            ),
            "newDeadline",
          ],
        },
      },
    },
    assigned: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        SIGN: { target: "rectifying", guard: "leadUnit" },
        RETURN: {
          target: "registered",
          guard: "leadUnit",
          actions: assign({ leadUnitId: null, coUnitIds: [] }),
        },
      },
    },
    rectifying: {
      initial: "working",
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        REPORT_PROGRESS: {
          guard: and(["involvedUnit", "rulesHold"]),
          actions: assign(({ event }) => reportedProgress(event)),
        },
        // 申请销号 declares the rectification complete: the progress is 100 %.
        SUBMIT: {
          target: "verifying",
          guard: and(["leadUnit", "rulesHold"]),
          actions: assign(({ event }) => ({ progressPercent: 100, submittedOn: shanghaiDate(event.at) })),
        },
      },
      states: {
        working: {
          on: {
            REQUEST_EXTENSION: {
              target: "extensionPending",
              guard: and(["leadUnit", "rulesHold"]),
              actions: assign(({ event }) => requestedExtension(event)),
            },
          },
        },
        extensionPending: {
          on: {
            APPROVE_EXTENSION: {
              target: "working",
              guard: and(["office", "rulesHold"]),
              actions: assign(({ context, event }) => ({
                deadline: context.pendingExtension?.deadline ?? context.deadline,
                deadlineRevision: context.deadlineRevision + 1,
                extensionGranted: { revision: context.deadlineRevision + 1, on: shanghaiDate(event.at) },
                extensionCount: context.extensionCount + 1,
                pendingExtension: null,
              })),
            },
            REJECT_EXTENSION: {
              target: "working",
              guard: and(["office", "rulesHold"]),
              actions: assign({ pendingExtension: null }),
            },
            // The unit takes its request back (to 申请销号, say): the deadline stands.
            WITHDRAW_EXTENSION: { target: "working", guard: "leadUnit", actions: assign({ pendingExtension: null }) },
          },
        },
      },
    },
    verifying: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        REJECT: { target: "rectifying", guard: and(["office", "rulesHold"]), actions: assign({ submittedOn: null }) },
        PASS: [
          {
            target: "closed",
            guard: and(["office", "rulesHold", "skipsPublicity"]),
            actions: ["verified", assign(({ event }) => ({ closedOn: shanghaiDate(event.at) }))],
          },
          {
            target: "publicizing",
            guard: and(["office", "rulesHold"]),
            actions: [
              "verified",
              assign(({ context, event }) => ({
                publicitySince: shanghaiDate(event.at),
                publicityDays: event.type === "PASS" ? (event.publicityDays ?? context.publicityDays) : context.publicityDays,
              })),
            ],
          },
        ],
      },
    },
    publicizing: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        OBJECTION: { target: "verifying", guard: and(["office", "rulesHold"]), actions: assign({ publicitySince: null }) },
        PUBLICITY_END: {
          target: "closed",
          guard: "system",
          actions: assign(({ event }) => ({ closedOn: shanghaiDate(event.at) })),
        },
      },
    },
    closed: {
      on: {
        REOPEN: {
          target: "rectifying",
          guard: and(["office", "rulesHold"]),
          actions: [
            assign(({ context }) => ({ reopenCount: context.reopenCount + 1, closedOn: null, publicitySince: null })),
            "newDeadline",
          ],
        },
      },
    },
  },
});
