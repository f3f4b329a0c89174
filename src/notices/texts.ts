/**
 * The words of each notice level: one text per level for both kinds, data the office admin edits
 * (with a preview), seeded from the defaults below. A text is plain sentences with placeholders in
 * braces ({编号}, {期限}, …) filled from the case at issue; a paragraph whose placeholders are all empty
 * is left out. The composed text is stored on the notice when it is issued, so a document reads the
 * same however the texts change later.
 */
import { z } from "zod";
import { LEVEL_LABELS, LEVELS, anchorDate, dutyOf, missed, shanghaiDate, type Actor, type CaseClock, type CaseKind, type Level, type NoticeRule } from "../../workflows/index.ts";
import type { WorkCalendar } from "../calendar/workdays.ts";
import { NoticeTextModel, isDuplicateKey, type CaseDoc } from "../db/models.ts";
import { forbidden, fromZod, invalid, notFound, type FieldError } from "../errors.ts";

export interface NoticeText {
  level: Level;
  title: string;
  body: string;
  /** Working days the addressee has to 签收 or answer ({答复期限}). */
  replyDays: number;
}

/** Each placeholder and what fills it; the admin page lists these. */
export const PLACEHOLDERS: [string, string][] = [
  ["收文单位", "通知的收文方：责任单位名称；整改办办理环节的提醒为“整改办”"],
  ["责任单位", "案件的牵头（承办）单位名称"],
  ["职责", "督察问题为“牵头负责”，信访件为“承办”"],
  ["事项类别", "督察问题为“督察反馈问题整改任务”，信访件为“环境信访事项”"],
  ["事项", "问题标题或信访事项"],
  ["编号类别", "督察问题为“台账编号”，信访件为“信访编号”"],
  ["编号", "台账编号或信访编号"],
  ["环节", "当前办理环节（签收、整改、查处、受理、审核、答复、销号审核、公示）"],
  ["时限名称", "整改时限、办理时限、受理期限、法定办结期限或复查答复期限"],
  ["期限", "该时限的日期（如 2026年4月30日）"],
  ["剩余工作日", "发文之日之后到期限（含）的工作日数"],
  ["剩余天数", "发文之日之后到期限（含）的自然日数"],
  ["超期工作日", "期限之后到发文之日（含）的工作日数"],
  ["超期天数", "期限之后到发文之日（含）的自然日数"],
  ["剩余时长", "剩余天数的说法：如“3天”，其间有非工作日时如“5天（3个工作日）”"],
  ["超期时长", "超期天数的说法：如“1天”（周六到期、其后尚无工作日），“9天（7个工作日）”"],
  ["时限情况", "发文之日相对期限的说法：“已超期9天（7个工作日）”“今日到期”“距期限还有3天”，未设时限时为空（人工发出的通知未必已超期）"],
  ["交办日期", "交办责任单位的日期"],
  ["收到日期", "信访件收到日期"],
  ["进度", "最近报送的整改进度（百分比数字）"],
  ["预警原因", "黄色预警的原因：进度滞后于序时进度，或临近期限尚未完成"],
  ["签收提示", "尚未签收时为“该事项尚未签收，请先在系统中签收。”，否则为空"],
  ["答复工作日", "本级通知给收文方签收或报送的工作日数"],
  ["答复期限", "签收或报送的截止日期（发文之日起若干个工作日）"],
  ["督办要求", "整改办手工发出通知时填写的要求，自动通知为空"],
  ["申请延期至", "待批的延期申请所申请的日期；没有待批申请则为空"],
  ["申请日期", "待批的延期申请提出的日期；没有待批申请则为空"],
  ["退回理由", "整改办退回（退回整改、退回查处）时填写的理由；其他通知为空"],
  ["批示内容", "分管领导批示的原文；其他通知为空"],
  ["依据", "规则的依据条款，如“依据《信访工作条例》第二十二条……”；没有则为空"],
  ["发文机关", "发文机关名称（系统设置）"],
  ["发文日期", "发文日期"],
];
const KNOWN = new Set(PLACEHOLDERS.map(([n]) => n));

export const DEFAULT_TEXTS: Record<Level, Omit<NoticeText, "level">> = {
  sign_reminder: {
    title: "签收提醒",
    replyDays: 2,
    body: [
      "{编号类别}为{编号}的“{事项}”已于{交办日期}交由你单位{职责}，截至{发文日期}尚未签收。",
      "请于{答复期限}前（{答复工作日}个工作日内）登录系统签收，并按要求组织办理；如认为不属于你单位职责，请在此期限内申请退回并说明理由。",
      "{督办要求}",
    ].join("\n"),
  },
  due_reminder: {
    title: "到期提醒",
    replyDays: 5,
    body: [
      "{签收提示}",
      "{编号类别}为{编号}的“{事项}”{时限名称}为{期限}，距期限还有{剩余工作日}个工作日。",
      "请你单位按期完成{环节}，及时在系统中报送进展和佐证材料；确需延期的，请在期限届满前提出申请并说明理由。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  yellow: {
    title: "黄色预警",
    replyDays: 3,
    body: [
      "{签收提示}",
      "{编号类别}为{编号}的“{事项}”{时限名称}为{期限}，距期限还有{剩余工作日}个工作日，{预警原因}。现予黄色预警。",
      "请你单位倒排工期、加快推进，确保按期完成，并于{答复期限}前在系统中报送最新进展。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  red: {
    title: "红色预警",
    replyDays: 2,
    body: [
      "{签收提示}",
      "{编号类别}为{编号}的“{事项}”{时限名称}为{期限}，已超期{超期时长}，尚未完成{环节}。现予红色预警。",
      "请你单位立即采取措施，并于{答复期限}前书面报送超期原因、目前进展和预计完成时间。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  supervision: {
    title: "关于加快{环节}“{事项}”的督办通知",
    replyDays: 5,
    body: [
      "你单位{职责}的{事项类别}“{事项}”（{编号类别}：{编号}），{时限名称}为{期限}，截至{发文日期}{时限情况}，尚未完成{环节}。根据整改工作督办制度，现予以督办。",
      "{督办要求}",
      "请你单位高度重视，主要负责同志亲自过问，倒排工期、压实责任、加快推进，并于{答复期限}前将进展情况、存在问题及下一步措施书面报送{发文机关}。逾期未报送或推进不力的，将按规定予以通报、约谈。",
      "{依据}",
    ].join("\n"),
  },
  escalation: {
    title: "关于{责任单位}超期未完成{环节}的约谈通报建议",
    replyDays: 5,
    body: [
      "{责任单位}{职责}的{事项类别}“{事项}”（{编号类别}：{编号}），{时限名称}为{期限}，截至{发文日期}{时限情况}，经预警、督办仍未完成{环节}。",
      "建议对{责任单位}主要负责同志进行约谈，并在全市范围内予以通报。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  accept_warning: {
    title: "受理期限预警",
    replyDays: 2,
    body: [
      "信访编号为{编号}的“{事项}”于{收到日期}收到，{时限名称}为{期限}，距期限还有{剩余天数}天，尚未告知信访人是否受理。",
      "请抓紧审查，在期限内作出受理、不予受理或转送决定，并告知信访人。",
      "{依据}",
    ].join("\n"),
  },
  accept_overdue: {
    title: "受理超期",
    replyDays: 1,
    body: [
      "信访编号为{编号}的“{事项}”于{收到日期}收到，{时限名称}为{期限}，已超期{超期天数}天，仍未告知信访人是否受理。",
      "请立即作出受理、不予受理或转送决定并告知信访人，同时说明超期原因。",
      "{依据}",
    ].join("\n"),
  },
  conclude_warning: {
    title: "办理期限预警",
    replyDays: 3,
    body: [
      "信访编号为{编号}的“{事项}”交由你单位查处，{时限名称}为{期限}，距期限还有{剩余时长}。",
      "请你单位抓紧调查核实，按期在系统中报送查处结果；情况复杂确需延期的，请在期限届满前申请延期并说明理由，以便告知信访人。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  conclude_overdue: {
    title: "办理超期",
    replyDays: 2,
    body: [
      "信访编号为{编号}的“{事项}”交由你单位查处，{时限名称}为{期限}，已超期{超期时长}，尚未报送查处结果。",
      "请你单位立即报送查处结果，并于{答复期限}前书面说明超期原因。",
      "{督办要求}",
      "{依据}",
    ].join("\n"),
  },
  office_due: {
    title: "办结临期提醒",
    replyDays: 2,
    body: [
      "{编号类别}为{编号}的“{事项}”正处于{环节}环节，{时限名称}为{期限}，距期限还有{剩余时长}。",
      "请抓紧完成{环节}，确保按期办结。",
      "{依据}",
    ].join("\n"),
  },
  office_extension: {
    title: "延期待批提醒",
    replyDays: 1,
    body: [
      "{责任单位}于{申请日期}申请将{编号类别}为{编号}的“{事项}”的{时限名称}由{期限}延期至{申请延期至}，尚待整改办审批。",
      "审批期间，该单位的预警、督办暂缓发出，也不计入考评；请尽快作出同意或不同意延期的决定。",
      "{依据}",
    ].join("\n"),
  },
  returned: {
    title: "退回整改通知",
    replyDays: 5,
    body: [
      "你单位报送的{编号类别}为{编号}的“{事项}”，经整改办审核，退回你单位继续{环节}。",
      "退回理由：{退回理由}",
      "{时限名称}为{期限}。请按退回意见{环节}到位后，重新在系统中报送。",
    ].join("\n"),
  },
  instruction: {
    title: "领导批示",
    replyDays: 5,
    body: [
      "分管领导对{编号类别}为{编号}的“{事项}”作出批示：",
      "{批示内容}",
      "请你单位认真落实批示要求，落实情况由整改办跟踪记录。{时限名称}为{期限}。",
    ].join("\n"),
  },
  office_overdue: {
    title: "办结超期提醒",
    replyDays: 1,
    body: [
      "{编号类别}为{编号}的“{事项}”正处于{环节}环节，{时限名称}为{期限}，已超期{超期时长}。",
      "请立即完成{环节}，并向分管领导说明超期原因。",
      "{依据}",
    ].join("\n"),
  },
};

// ------------------------------------------------------------------------------------ composing

/** 2026-07-08 → 2026年7月8日 */
export function chineseDate(date: string): string {
  const [y, m, d] = date.split("-").map(Number);
  return `${y}年${m}月${d}日`;
}

const daysBetween = (from: string, to: string) => Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/**
 * A span of days as a person says it: "1天" when no working day lies in it (a Saturday deadline passed
 * yesterday) or every day was one, "9天（7个工作日）" otherwise (documents; pages put spaces between); working days unknown (a year the
 * calendar lacks): the days alone.
 */
export function daysPhrase(days: number, workdays: number | null, space = ""): string {
  if (workdays === null || workdays === 0 || workdays === days) return `${days}${space}天`;
  return `${days}${space}天（${workdays}${space}个工作日）`;
}

/** A count the calendar may not know (a year it lacks): "—" rather than a guess. */
function counted(f: () => number): string {
  try {
    return String(f());
  } catch {
    return "—";
  }
}

function countedOrNull(f: () => number): number | null {
  try {
    return f();
  } catch {
    return null;
  }
}

/** What a notice is about, as the texts name it. */
export interface NoticeSubject {
  doc: Pick<CaseDoc, "kind" | "state" | "ledgerNumber" | "title" | "deadline" | "receivedOn" | "progressPercent"> & { context: unknown };
  level: Level;
  rule: Pick<NoticeRule, "triggers" | "clause"> | null;
  /** Whose inbox it goes to: a unit's, the office's, or none (the leader reads it). */
  addressee: "unit" | "office" | null;
  unitName: string | null;
  requirement: string;
  /** The yellow warning came from progress behind schedule rather than the approaching deadline. */
  behindSchedule?: boolean;
  /** The office's reason, for a notice that tells of its 退回. */
  reason?: string;
  /** The leader's words, for a notice that tells of a 批示. */
  instruction?: string;
}

export interface ComposeContext {
  office: string;
  calendar: WorkCalendar;
  issuedAt: Date;
}

export interface Composed {
  title: string;
  paragraphs: string[];
  /** The limit the notice is about (YYYY-MM-DD), if any. */
  limit: string | null;
  /** The date by which the addressee is asked to 签收 or answer. */
  replyBy: string;
  /** 主送: whom it is addressed to (a unit's name, 整改办, 分管领导). */
  to: string;
}

/** The limit a notice is about and its name: the date its rule counts from (the case's deadline for a sign reminder). */
function limitOf(s: NoticeSubject): { limit: string | null; name: string } {
  const ctx = s.doc.context as CaseClock["context"];
  const clock: CaseClock = { kind: s.doc.kind, state: s.doc.state, context: ctx };
  const trigger = s.rule?.triggers.find((t) => "anchor" in t);
  const anchor = trigger && "anchor" in trigger ? trigger.anchor : "deadline";
  const deadlineName = s.doc.kind === "inspection" ? "整改时限" : (ctx.reviewCount ?? 0) > 0 ? "复查答复期限" : "办理时限";
  if (anchor === "acceptBy") return { limit: ctx.acceptBy ?? null, name: "受理期限" };
  if (anchor === "concludeBy") return { limit: anchorDate(clock, "concludeBy"), name: (ctx.reviewCount ?? 0) > 0 ? "复查答复期限" : ctx.concludeBy ? "法定办结期限" : "受理期限" };
  return { limit: s.doc.deadline ?? null, name: deadlineName };
}

/** The values of every placeholder for this notice. */
export function placeholderValues(s: NoticeSubject, text: Pick<NoticeText, "replyDays">, c: ComposeContext): Record<string, string> & { _limit: string; _replyBy: string } {
  const cal = c.calendar;
  const today = shanghaiDate(c.issuedAt);
  const ctx = s.doc.context as CaseClock["context"] & { receivedOn?: string | null; pendingExtension?: { deadline: string; requestedOn: string } | null };
  const { limit, name } = limitOf(s);
  const inspection = s.doc.kind === "inspection";
  const replyBy = (() => {
    try {
      return cal.addWorkdays(today, text.replyDays);
    } catch {
      return cal.addCalendarDays(today, Math.ceil((text.replyDays * 7) / 5));
    }
  })();
  const step = dutyOf(s.doc.kind as CaseKind, s.doc.state)?.step.replace(/（.*）$/, "") ?? "";
  const values: Record<string, string> = {
    收文单位: s.addressee === "office" ? "整改办" : s.addressee === "unit" ? (s.unitName ?? "") : "分管领导",
    责任单位: s.unitName ?? "",
    职责: inspection ? "牵头负责" : "承办",
    事项类别: inspection ? "督察反馈问题整改任务" : "环境信访事项",
    事项: s.doc.title,
    编号类别: inspection ? "台账编号" : "信访编号",
    编号: s.doc.ledgerNumber,
    环节: step === "签收" ? "签收和整改" : step,
    时限名称: name,
    期限: limit ? chineseDate(limit) : "（长期坚持，未设时限）",
    剩余工作日: limit && limit > today ? counted(() => cal.workdaysBetween(today, limit)) : "0",
    剩余天数: limit && limit > today ? String(daysBetween(today, limit)) : "0",
    // Days after the limit up to and including the day of issue, as 超期天数 counts them.
    超期工作日: missed(limit, today) ? counted(() => cal.workdaysBetween(limit, today)) : "0",
    超期天数: missed(limit, today) ? String(daysBetween(limit, today)) : "0",
    剩余时长: limit && limit > today ? daysPhrase(daysBetween(today, limit), countedOrNull(() => cal.workdaysBetween(today, limit))) : "0天",
    超期时长: missed(limit, today) ? daysPhrase(daysBetween(limit, today), countedOrNull(() => cal.workdaysBetween(limit, today))) : "0天",
    交办日期: ctx.assignedOn ? chineseDate(ctx.assignedOn) : "",
    收到日期: (ctx.receivedOn ?? s.doc.receivedOn) ? chineseDate((ctx.receivedOn ?? s.doc.receivedOn)!) : "",
    进度: String(s.doc.progressPercent ?? 0),
    预警原因: s.behindSchedule ? `已报送的进度（${s.doc.progressPercent ?? 0}%）明显滞后于序时进度` : "临近期限尚未完成",
    签收提示: s.doc.state === "assigned" ? "该事项尚未签收，请先在系统中签收。" : "",
    答复工作日: String(text.replyDays),
    答复期限: chineseDate(replyBy),
    督办要求: s.requirement,
    申请延期至: ctx.pendingExtension?.deadline ? chineseDate(ctx.pendingExtension.deadline) : "",
    申请日期: ctx.pendingExtension?.requestedOn ? chineseDate(ctx.pendingExtension.requestedOn) : "",
    退回理由: s.reason ?? "",
    批示内容: s.instruction ?? "",
    依据: s.rule?.clause ? `依据：${s.rule.clause}。`.replace(/。。$/, "。") : "",
    发文机关: c.office,
    发文日期: chineseDate(today),
  };
  values.时限情况 = !limit ? "" : missed(limit, today) ? `已超期${values.超期时长}` : limit === today ? "今日到期" : `距期限还有${values.剩余时长}`;
  return Object.assign(values, { _limit: limit ?? "", _replyBy: replyBy });
}

const fill = (template: string, values: Record<string, string>) => template.replace(/\{([^{}\n]+)\}/g, (m, name: string) => (KNOWN.has(name) ? (values[name] ?? "") : m));

/** A text filled for one notice: paragraphs by line, those left empty by their placeholders dropped. */
export function compose(text: Pick<NoticeText, "title" | "body" | "replyDays">, s: NoticeSubject, c: ComposeContext): Composed {
  const values = placeholderValues(s, text, c);
  const paragraphs = text.body
    .split(/\r?\n/)
    .map((line) => fill(line, values).trim())
    .filter((line) => line.length > 0);
  return { title: fill(text.title, values).trim(), paragraphs, limit: values._limit || null, replyBy: values._replyBy, to: values.收文单位 ?? "" };
}

// ------------------------------------------------------------------------------------ the texts as data

const toText = (d: { _id: unknown; title: string; body: string; replyDays: number }): NoticeText => ({ level: String(d._id) as Level, title: d.title, body: d.body, replyDays: d.replyDays });

/** Phrases of earlier defaults and what the defaults say now: a text the admin never edited follows. */
const REWORDED: [string, string][] = [
  ["已超期{超期天数}天（{超期工作日}个工作日）", "已超期{超期时长}"],
  ["距期限还有{剩余天数}天（{剩余工作日}个工作日）", "距期限还有{剩余时长}"],
  ["截至{发文日期}已超期{超期工作日}个工作日", "截至{发文日期}{时限情况}"],
];

/** Brings the texts the admin never edited from earlier defaults' phrases to today's (a migration). Returns how many changed. */
export async function rewordTexts(): Promise<number> {
  let n = 0;
  for (const row of await NoticeTextModel.find({ updatedBy: null }).lean()) {
    const body = REWORDED.reduce((b, [from, to]) => b.replaceAll(from, to), row.body);
    if (body !== row.body) n += (await NoticeTextModel.updateOne({ _id: row._id, body: row.body }, { $set: { body } })).modifiedCount;
  }
  return n;
}

/** Inserts the default texts that are missing; leaves edited ones alone. */
export async function seedTexts(): Promise<void> {
  for (const level of LEVELS) {
    try {
      await NoticeTextModel.create({ _id: level, ...DEFAULT_TEXTS[level] });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
  }
}

/** Every level's text (a missing one is seeded first), in ladder order. */
export async function loadTexts(): Promise<Record<Level, NoticeText>> {
  let rows = await NoticeTextModel.find().lean();
  if (rows.length < LEVELS.length) {
    await seedTexts();
    rows = await NoticeTextModel.find().lean();
  }
  const by = new Map(rows.map((r) => [String(r._id), toText(r)]));
  return Object.fromEntries(LEVELS.map((l) => [l, by.get(l) ?? { level: l, ...DEFAULT_TEXTS[l] }])) as Record<Level, NoticeText>;
}

export const textSchema = z
  .object({
    title: z.string({ error: "请填写标题" }).trim().min(1, { error: "请填写标题" }).max(100, { error: "标题不能超过 100 个字" }),
    body: z.string({ error: "请填写正文" }).trim().min(1, { error: "请填写正文" }).max(3000, { error: "正文不能超过 3000 个字" }),
    replyDays: z.number({ error: "签收或报送期限应为数字" }).int({ error: "签收或报送期限应为整数" }).min(1, { error: "签收或报送期限应为 1–30 个工作日" }).max(30, { error: "签收或报送期限应为 1–30 个工作日" }),
  })
  .strict();

/** A text checked: its schema, and every placeholder one the system fills. */
export function checkText(input: unknown): Omit<NoticeText, "level"> {
  const parsed = textSchema.safeParse(input);
  const raw = (input ?? {}) as Record<string, unknown>;
  const problems = (["title", "body"] as const).flatMap((field) => {
    const value = typeof raw[field] === "string" ? (raw[field] as string) : "";
    const unknown = [...value.matchAll(/\{([^{}\n]*)\}/g)].map((m) => m[1]!).filter((n) => !KNOWN.has(n));
    return unknown.length ? [{ field, message: `没有这些占位符：${[...new Set(unknown)].map((n) => `{${n}}`).join("、")}（可用的见占位符说明）` }] : [];
  });
  const fields = [...(parsed.success ? [] : fromZod(parsed.error).details.fields as FieldError[]), ...problems];
  if (fields.length || !parsed.success) throw invalid(fields);
  return parsed.data;
}

const isLevel = (l: string): l is Level => (LEVELS as readonly string[]).includes(l);

/** Changes a level's text (office admin only); notices issued from now on use it. */
export async function updateText(level: string, input: unknown, actor: Actor): Promise<NoticeText> {
  if (actor.role !== "office_admin") throw forbidden("只有整改办管理员可以修改通知文本");
  if (!isLevel(level)) throw notFound("通知类别");
  const text = checkText(input);
  await loadTexts();
  await NoticeTextModel.updateOne({ _id: level }, { $set: { ...text, updatedBy: actor.id } });
  return { level, ...text };
}

/** Sample cases a preview fills a text with: one of each kind, at the level's moment. */
export function previewSubjects(level: Level, today: string, unitName = "市生态环境局"): NoticeSubject[] {
  const office = level.startsWith("office_") || level.startsWith("accept_");
  const addressee = office ? ("office" as const) : level === "escalation" ? null : ("unit" as const);
  const before = level === "due_reminder" || level.endsWith("_warning") || level.endsWith("_due") || level === "yellow";
  const limit = shiftDays(today, before ? 7 : level === "supervision" || level === "escalation" ? -21 : -3);
  const extension = level === "office_extension";
  const inspectionState = extension ? "rectifying.extensionPending" : office ? "verifying" : level === "sign_reminder" ? "assigned" : "rectifying";
  const complaintState = extension ? "investigating.extensionPending" : level.startsWith("accept_") ? "received" : office ? "replying" : "investigating";
  const pendingExtension = extension ? { deadline: shiftDays(limit, 30), requestedOn: shiftDays(today, -3) } : null;
  const reason = level === "returned" ? "佐证材料不全，缺少整改前后对比照片" : undefined;
  const instruction = level === "instruction" ? "请加快进度，月底前完成整改并报送佐证材料。" : undefined;
  const inspection: NoticeSubject = {
    doc: {
      kind: "inspection",
      state: inspectionState,
      ledgerNumber: "ZY2-03",
      title: "城区部分燃煤锅炉淘汰不彻底",
      deadline: limit,
      receivedOn: null,
      progressPercent: 40,
      context: { deadline: limit, deadlineRevision: 1, assignedOn: shiftDays(today, -60), pendingExtension },
    },
    level,
    rule: null,
    addressee,
    unitName,
    requirement: "",
    reason,
    instruction,
  };
  const acceptBy = level.startsWith("accept_") ? limit : shiftDays(today, -50);
  const complaint: NoticeSubject = {
    doc: {
      kind: "complaint",
      state: complaintState,
      ledgerNumber: "XF-2026-000123",
      title: "夜间工地噪声扰民",
      deadline: level.startsWith("accept_") ? acceptBy : limit,
      receivedOn: shiftDays(acceptBy, -15),
      progressPercent: 0,
      context: { deadline: limit, deadlineRevision: 2, acceptBy, concludeBy: office && !level.startsWith("accept_") ? limit : shiftDays(today, 30), receivedOn: shiftDays(acceptBy, -15), reviewCount: 0, pendingExtension },
    },
    level,
    rule: { triggers: [{ anchor: level.startsWith("accept_") ? "acceptBy" : office ? "concludeBy" : "deadline", direction: "after", days: 0, unit: "calendar" }], clause: level.startsWith("accept_") ? "《信访工作条例》第二十二条：收到信访事项之日起15日内告知信访人是否受理" : "《信访工作条例》第三十四条：信访事项应当自受理之日起60日内办结" },
    addressee,
    unitName,
    requirement: "",
    reason,
    instruction,
  };
  return [inspection, complaint];
}

const shiftDays = (date: string, n: number) => new Date(Date.parse(`${date}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

/** A text previewed on both kinds of sample case (nothing stored). */
export function preview(level: string, input: unknown, c: ComposeContext): { level: Level; label: string; samples: (Composed & { kind: CaseKind })[] } {
  if (!isLevel(level)) throw notFound("通知类别");
  const text = checkText(input);
  return {
    level,
    label: LEVEL_LABELS[level],
    samples: previewSubjects(level, shanghaiDate(c.issuedAt)).map((s) => ({ kind: s.doc.kind as CaseKind, ...compose(text, s, c) })),
  };
}
