/**
 * The texts as data: seeded from the defaults, edited by the office admin (checked: every placeholder
 * one the system fills), read by the issuer at each issue.
 */
import { z } from "zod";
import { LEVELS, type Actor, type Level } from "../../../workflows/index.ts";
import { NoticeTextModel, isDuplicateKey } from "../../db/models.ts";
import { forbidden, fromZod, invalid, notFound, type FieldError } from "../../errors.ts";
import { DEFAULT_TEXTS, KNOWN, type NoticeText } from "./defaults.ts";

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

export const isLevel = (l: string): l is Level => (LEVELS as readonly string[]).includes(l);

/** Changes a level's text (office admin only); notices issued from now on use it. */
export async function updateText(level: string, input: unknown, actor: Actor): Promise<NoticeText> {
  if (actor.role !== "office_admin") throw forbidden("只有整改办管理员可以修改通知文本");
  if (!isLevel(level)) throw notFound("通知类别");
  const text = checkText(input);
  await loadTexts();
  await NoticeTextModel.updateOne({ _id: level }, { $set: { ...text, updatedBy: actor.id } });
  return { level, ...text };
}

