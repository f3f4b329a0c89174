/** Chinese names of kinds, states and events, for messages, pages and exports (levels: LEVEL_LABELS in deadlines.ts). */

/** The kinds' names, as the import reads them back from an export. */
export const KIND_LABELS: Record<"inspection" | "complaint", string> = { inspection: "督察反馈问题", complaint: "环境信访投诉" };

export const STATE_LABELS: Record<string, string> = {
  registered: "已登记",
  assigned: "已交办",
  rectifying: "整改中",
  "rectifying.working": "整改中",
  "rectifying.extensionPending": "整改中（延期待批）",
  verifying: "销号审核",
  publicizing: "公示中",
  closed: "已办结",
  received: "已登记",
  accepted: "已受理",
  investigating: "查处中",
  "investigating.working": "查处中",
  "investigating.extensionPending": "查处中（延期待批）",
  reviewing: "审核中",
  replying: "待答复",
  replied: "已答复",
};

export const EVENT_LABELS: Record<string, string> = {
  CREATE: "登记",
  IMPORT: "导入",
  ASSIGN: "交办",
  SIGN: "签收",
  RETURN: "申请退回",
  REPORT_PROGRESS: "报送进展",
  REQUEST_EXTENSION: "申请延期",
  APPROVE_EXTENSION: "同意延期",
  REJECT_EXTENSION: "不同意延期",
  WITHDRAW_EXTENSION: "撤回延期申请",
  SUBMIT: "申请销号",
  REJECT: "退回",
  PASS: "审核通过",
  OBJECTION: "公示异议",
  PUBLICITY_END: "公示期满",
  REOPEN: "重新整改",
  ACCEPT: "受理",
  DECLINE: "不予受理",
  TRANSFER: "转送",
  SUBMIT_RESULT: "报送查处结果",
  APPROVE: "审核通过",
  REPLY: "答复",
  CLOSE: "办结",
  REQUEST_REVIEW: "复查申请",
  INSTRUCT: "领导批示",
  CARRY_OUT: "落实情况",
};

/** What a rule's trigger counts from ("期限前 5 个工作日", "交办后 2 个工作日"). */
export const ANCHOR_LABELS: Record<string, string> = { deadline: "期限", assignedOn: "交办", acceptBy: "受理期限", concludeBy: "法定办结期限", extensionRequestedOn: "延期申请" };

/** An event's Chinese name; an unknown name (from a URL, say) is returned as given. */
export const eventLabel = (type: string): string => (Object.hasOwn(EVENT_LABELS, type) ? EVENT_LABELS[type]! : type);

export function stateLabel(kind: "inspection" | "complaint", key: string): string {
  if (kind === "inspection" && key === "closed") return "已销号";
  return STATE_LABELS[key] ?? key;
}

/**
 * A state as a filter over both kinds names it (`keys`: per kind, its top-level states in lifecycle order):
 * a state both kinds have under different names is named both ways ("已办结/已销号"); a complaint's state
 * named like an inspection state is marked 信访 ("信访已登记"). Inspection states first.
 */
export function stateFilterChoices(keys: Record<"inspection" | "complaint", string[]>): [string, string][] {
  const inspection = new Set(keys.inspection.map((k) => stateLabel("inspection", k)));
  const out = new Map<string, string>();
  for (const k of keys.inspection) out.set(k, stateLabel("inspection", k));
  for (const k of keys.complaint) {
    const label = stateLabel("complaint", k);
    if (out.has(k)) out.set(k, out.get(k) === label ? label : `${label}/${out.get(k)}`);
    else out.set(k, inspection.has(label) ? `信访${label}` : label);
  }
  // Closed, shared by both, reads last, as the lifecycles end.
  const closed = out.get("closed");
  out.delete("closed");
  if (closed) out.set("closed", closed);
  return [...out];
}

export const ROLE_LABELS: Record<string, string> = {
  office_admin: "整改办管理员",
  office_staff: "整改办工作人员",
  unit_user: "责任单位联络员",
  leader: "分管领导",
  system: "系统",
};
