/**
 * 环境信访投诉 (environmental complaint): received → accepted → investigating → reviewing →
 * replying → replied → closed, with decline, transfer, one limited extension and 复查 review
 * (docs/domain.md#complaint). Statutory limits come in as data (`limits`, from the rules) and are kept in
 * context, so a case keeps the limits it was registered under.
 */
import { and, assign, setup } from "xstate";
import { z } from "zod";
import {
  addCalendarDays,
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
import { STATUTORY_LIMITS } from "./duties.ts";

export const REPLY_CHANNELS = ["书面", "电话", "短信", "平台", "当面"] as const;
export const VISIT_METHODS = ["电话", "上门", "短信", "平台"] as const;
/** What a complainant says at 回访; 未表态 (did not say) is left out of the 满意率. */
export const SATISFACTION = ["满意", "基本满意", "不满意", "未表态"] as const;

export const complaintPayloads = {
  ACCEPT: empty,
  DECLINE: z.object({ reason: text("不予受理理由") }),
  TRANSFER: z.object({ to: text("转送机关", 200), note: optionalText("备注") }),
  ASSIGN: z.object({
    leadUnitId: id("承办单位"),
    coUnitIds: z.array(id("配合单位"), { error: "配合单位格式不正确" }).max(50, { error: "配合单位最多 50 个" }).default([]),
    deadline: isoDate("办理时限"),
    requirements: optionalText("办理要求"),
  }),
  // A complaint is investigated, not rectified by a share: its progress is the text (a percent sent is dropped).
  REPORT_PROGRESS: z.object({ text: text("进展情况"), attachmentIds }),
  REQUEST_EXTENSION: z.object({ deadline: isoDate("申请延期至"), reason: text("延期理由") }),
  APPROVE_EXTENSION: empty,
  REJECT_EXTENSION: z.object({ reason: text("不同意延期的理由") }),
  WITHDRAW_EXTENSION: empty,
  SUBMIT_RESULT: z.object({
    summary: text("调查核实情况"),
    violationFound: z.boolean({ error: "请选择是否发现环境违法行为" }),
    measures: optionalText("处理措施"),
    attachmentIds,
  }),
  REJECT: z.object({ reason: text("退回理由") }),
  APPROVE: empty,
  REPLY: z.object({
    text: text("答复内容", 20000),
    channel: z.enum(REPLY_CHANNELS, { error: `答复方式应为：${REPLY_CHANNELS.join("、")}` }),
  }),
  // 办结 after 回访: when and how the complainant was asked, and what they said.
  CLOSE: z.object({
    visitedOn: isoDate("回访日期"),
    visitMethod: z.enum(VISIT_METHODS, { error: `回访方式应为：${VISIT_METHODS.join("、")}` }),
    satisfaction: z.enum(SATISFACTION, { error: `请选择满意度：${SATISFACTION.join("、")}` }),
    note: optionalText("回访情况"),
  }),
  REQUEST_REVIEW: z.object({ reason: text("复查请求事由") }),
  ...instructionPayloads,
} as const;

type Payloads = { [K in keyof typeof complaintPayloads]: z.output<(typeof complaintPayloads)[K]> };
export type ComplaintEventType = keyof Payloads;
export type ComplaintEvent = { [K in ComplaintEventType]: { type: K } & Payloads[K] & Envelope }[ComplaintEventType];

/** Statutory limits in days (信访工作条例 arts. 22, 34–35, see duties.ts); the rules may make them stricter. */
export interface ComplaintLimits {
  acceptDays: number;
  concludeDays: number;
  maxExtensions: number;
  maxExtensionDays: number;
  reviewWindowDays: number;
  reviewAnswerDays: number;
}

/** The statutory limits (duties.ts, with their clauses) as numbers. */
export const DEFAULT_COMPLAINT_LIMITS = Object.fromEntries(Object.entries(STATUTORY_LIMITS).map(([k, v]) => [k, v.value])) as unknown as ComplaintLimits;

export interface ComplaintInput {
  receivedOn: string;
  limits?: Partial<ComplaintLimits>;
}

export interface ComplaintContext {
  /** 领导批示 on the case and their 落实 (docs/domain.md#instructions); absent on cases stored before them. */
  instructions?: Instruction[];
  limits: ComplaintLimits;
  receivedOn: string;
  acceptBy: string;
  acceptedOn: string | null;
  concludeBy: string | null;
  /** When the office gave the matter to the unit (交办). */
  assignedOn: string | null;
  leadUnitId: string | null;
  coUnitIds: string[];
  deadline: string | null;
  deadlineRevision: number;
  pendingExtension: PendingExtension | null;
  /** The last approved extension: its deadline revision and the day the office approved it. */
  extensionGranted?: GrantedExtension | null;
  extensionCount: number;
  progressPercent: number;
  lastProgressOn: string | null;
  declined: boolean;
  transferredTo: string | null;
  violationFound: boolean | null;
  repliedOn: string | null;
  /** When the lead unit handed its result back (报送查处结果). */
  submittedOn: string | null;
  /** The 回访 before 办结. */
  visitedOn: string | null;
  satisfaction: (typeof SATISFACTION)[number] | null;
  reviewCount: number;
  closedOn: string | null;
}

type R = Rule<ComplaintContext, ComplaintEvent>;
const today = (e: ComplaintEvent) => shanghaiDate(e.at);

const INSTRUCTION_RULES = instructionRules<ComplaintContext, ComplaintEvent>();

export const complaintRules: Partial<Record<ComplaintEventType, R[]>> = {
  ...INSTRUCTION_RULES,
  APPROVE_EXTENSION: [requestedDateNotPast()],
  SUBMIT_RESULT: [noPendingExtension("报送查处结果")],
  ASSIGN: [
    { field: "deadline", message: "办理时限不能早于今天", test: (_c, e) => e.type !== "ASSIGN" || e.deadline >= today(e) },
    {
      field: "deadline",
      message: "办理时限不能晚于法定办结期限",
      test: (c, e) => e.type !== "ASSIGN" || c.concludeBy === null || e.deadline <= c.concludeBy,
    },
    {
      field: "coUnitIds",
      message: "承办单位不能同时作为配合单位",
      test: (_c, e) => e.type !== "ASSIGN" || !e.coUnitIds.includes(e.leadUnitId),
    },
  ],
  REQUEST_EXTENSION: [
    {
      field: "deadline",
      message: "延期后的时限应晚于当前办理时限",
      test: (c, e) => e.type !== "REQUEST_EXTENSION" || c.deadline === null || e.deadline > c.deadline,
    },
    {
      field: "deadline",
      message: "延期不得超过法定办结期限后 30 日",
      test: (c, e) =>
        e.type !== "REQUEST_EXTENSION" ||
        e.deadline <= addCalendarDays(c.concludeBy ?? c.deadline ?? today(e), c.limits.maxExtensionDays),
    },
  ],
  CLOSE: [
    { field: "visitedOn", message: "回访日期不能晚于今天", test: (_c, e) => e.type !== "CLOSE" || e.visitedOn <= today(e) },
    { field: "visitedOn", message: "回访日期不能早于答复日期", test: (c, e) => e.type !== "CLOSE" || c.repliedOn === null || e.visitedOn >= c.repliedOn },
  ],
};

const withinReviewWindow = (c: ComplaintContext, at: string) =>
  c.repliedOn !== null && shanghaiDate(at) <= addCalendarDays(c.repliedOn, c.limits.reviewWindowDays);

export const complaintMachine = setup({
  types: {
    context: {} as ComplaintContext,
    events: {} as ComplaintEvent,
    input: {} as ComplaintInput,
  },
  guards: {
    office: ({ event }) => isOfficeRole(event.actor.role),
    leadUnit: ({ context, event }) =>
      event.actor.role === "unit_user" && !!event.actor.unitId && event.actor.unitId === context.leadUnitId,
    involvedUnit: ({ context, event }) =>
      event.actor.role === "unit_user" &&
      !!event.actor.unitId &&
      (event.actor.unitId === context.leadUnitId || context.coUnitIds.includes(event.actor.unitId)),
    leader: ({ event }) => isLeader(event.actor.role),
    openInstruction: ({ context, event }) => hasOpenInstruction(context, event),
    rulesHold: ({ context, event }) => rulesHold(complaintRules[event.type], context, event),
    extensionLeft: ({ context }) => context.extensionCount < context.limits.maxExtensions,
    hasUnit: ({ context }) => context.leadUnitId !== null,
    inReviewWindow: ({ context, event }) => withinReviewWindow(context, event.at),
  },
  actions: {
    instructed: assign(({ context, event }) => instructed(context, event)),
    carriedOut: assign(({ context, event }) => carriedOut(context, event)),
    closeNow: assign(({ event }) => ({ closedOn: shanghaiDate(event.at) })),
    // 复查: answered within reviewAnswerDays of the request, a new deadline revision.
    startReview: assign(({ context, event }) => ({
      reviewCount: context.reviewCount + 1,
      deadline: addCalendarDays(shanghaiDate(event.at), context.limits.reviewAnswerDays),
      deadlineRevision: context.deadlineRevision + 1,
      closedOn: null,
    })),
  },
}).createMachine({
  id: "complaint",
  context: ({ input }) => {
    const limits = { ...DEFAULT_COMPLAINT_LIMITS, ...input.limits };
    const acceptBy = addCalendarDays(input.receivedOn, limits.acceptDays);
    return {
      limits,
      receivedOn: input.receivedOn,
      acceptBy,
      acceptedOn: null,
      concludeBy: null,
      assignedOn: null,
      leadUnitId: null,
      coUnitIds: [],
      deadline: acceptBy,
      deadlineRevision: 1,
      pendingExtension: null,
      extensionGranted: null,
      extensionCount: 0,
      progressPercent: 0,
      lastProgressOn: null,
      declined: false,
      transferredTo: null,
      violationFound: null,
      repliedOn: null,
      submittedOn: null,
      visitedOn: null,
      satisfaction: null,
      reviewCount: 0,
      closedOn: null,
    };
  },
  // The office records how a 批示 was carried out (落实情况) in any state: a case may close before it does.
  on: { CARRY_OUT: { guard: and(["office", "openInstruction", "rulesHold"]), actions: "carriedOut" } },
  initial: "received",
  states: {
    received: {
      on: {
        // 领导批示: any time before the case is closed; no change of state.
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        ACCEPT: {
          target: "accepted",
          guard: "office",
          actions: assign(({ context, event }) => {
            const acceptedOn = shanghaiDate(event.at);
            const concludeBy = addCalendarDays(acceptedOn, context.limits.concludeDays);
            return { acceptedOn, concludeBy, deadline: concludeBy, deadlineRevision: context.deadlineRevision + 1 };
          }),
        },
        DECLINE: { target: "replying", guard: "office", actions: assign({ declined: true }) },
        TRANSFER: {
          target: "closed",
          guard: "office",
          actions: [assign(({ event }) => ({ transferredTo: event.type === "TRANSFER" ? event.to : null })), "closeNow"],
        },
      },
    },
    accepted: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        ASSIGN: {
          target: "investigating",
          guard: and(["office", "rulesHold"]),
          actions: assign(({ context, event }) =>
            event.type === "ASSIGN"
              ? {
                  leadUnitId: event.leadUnitId,
                  coUnitIds: event.coUnitIds,
                  assignedOn: shanghaiDate(event.at),
                  deadline: event.deadline,
                  deadlineRevision: context.deadlineRevision + 1,
                }
              : {},
          ),
        },
      },
    },
    investigating: {
      initial: "working",
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        REPORT_PROGRESS: {
          guard: "involvedUnit",
          actions: assign(({ event }) => reportedProgress(event)),
        },
        SUBMIT_RESULT: {
          target: "reviewing",
          guard: and(["leadUnit", "rulesHold"]),
          actions: assign(({ event }) => ({
            violationFound: event.type === "SUBMIT_RESULT" ? event.violationFound : null,
            submittedOn: shanghaiDate(event.at),
          })),
        },
      },
      states: {
        working: {
          on: {
            REQUEST_EXTENSION: {
              target: "extensionPending",
              guard: and(["leadUnit", "extensionLeft", "rulesHold"]),
              actions: assign(({ event }) => requestedExtension(event)),
            },
          },
        },
        extensionPending: {
          on: {
            APPROVE_EXTENSION: {
              target: "working",
              guard: and(["office", "rulesHold"]),
              actions: assign(({ context, event }) => {
                const deadline = context.pendingExtension?.deadline ?? context.deadline;
                const concludeBy =
                  deadline && context.concludeBy && deadline > context.concludeBy ? deadline : context.concludeBy;
                return {
                  deadline,
                  concludeBy,
                  deadlineRevision: context.deadlineRevision + 1,
                  extensionGranted: { revision: context.deadlineRevision + 1, on: shanghaiDate(event.at) },
                  extensionCount: context.extensionCount + 1,
                  pendingExtension: null,
                };
              }),
            },
            REJECT_EXTENSION: { target: "working", guard: "office", actions: assign({ pendingExtension: null }) },
            // The unit takes its request back (to report its result, say): the deadline stands.
            WITHDRAW_EXTENSION: { target: "working", guard: "leadUnit", actions: assign({ pendingExtension: null }) },
          },
        },
      },
    },
    reviewing: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        REJECT: { target: "investigating", guard: and(["office", "hasUnit"]), actions: assign({ submittedOn: null }) },
        APPROVE: { target: "replying", guard: "office" },
      },
    },
    replying: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        REPLY: {
          target: "replied",
          guard: "office",
          actions: assign(({ event }) => ({ repliedOn: shanghaiDate(event.at) })),
        },
      },
    },
    replied: {
      on: {
        INSTRUCT: { guard: and(["leader", "rulesHold"]), actions: "instructed" },
        CLOSE: {
          target: "closed",
          guard: and(["office", "rulesHold"]),
          actions: ["closeNow", assign(({ event }) => (event.type === "CLOSE" ? { visitedOn: event.visitedOn, satisfaction: event.satisfaction } : {}))],
        },
        REQUEST_REVIEW: { target: "reviewing", guard: and(["office", "inReviewWindow"]), actions: "startReview" },
      },
    },
    closed: {
      on: {
        REQUEST_REVIEW: { target: "reviewing", guard: and(["office", "inReviewWindow"]), actions: "startReview" },
      },
    },
  },
});
