/** The escalation ladder as data: seeded from the defaults, edited by the office admin. */
import { z } from "zod";
import { ANCHOR_LABELS, ANCHOR_NAMES, ANCHORS, DEFAULT_RULES, HOLDER_LABELS, HOLDERS, LEVELS, holderOf, partiesOf, stateKeys, stateLabel, type Actor, type NoticeRule } from "../../workflows/index.ts";
import { NoticeRuleModel, isDuplicateKey } from "../db/models.ts";
import { forbidden, fromZod, invalid, notFound, type FieldError } from "../errors.ts";

/**
 * A stored rule. One saved before rules named their holders applies to whoever holds its states
 * (the issuer still keeps a rung on the office's time away from units and their points).
 */
const toRule = (d: Record<string, unknown>): NoticeRule => {
  const { _id, createdAt: _c, updatedAt: _u, updatedBy: _b, template: _t, ...rest } = d;
  const rule = { id: String(_id), ...rest } as NoticeRule;
  if (!Array.isArray(rule.holders) || !rule.holders.length)
    rule.holders = HOLDERS.filter((h) => rule.states.some((s) => stateKeys(rule.kind).some((k) => (k === s || k.startsWith(`${s}.`)) && holderOf(rule.kind, k) === h)));
  return rule;
};

/** Inserts the default rules that are missing; leaves edited ones alone. */
export async function seedRules(): Promise<void> {
  for (const { id, ...rule } of DEFAULT_RULES) {
    try {
      await NoticeRuleModel.create({ _id: id, ...rule });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
  }
}

let cached: { at: number; rules: Promise<NoticeRule[]> } | null = null;

/** The rules, cached for half a minute (a change made here is seen at once; elsewhere within 30 s). */
export function cachedRules(): Promise<NoticeRule[]> {
  if (!cached || Date.now() - cached.at > 30_000) cached = { at: Date.now(), rules: loadRules() };
  return cached.rules;
}

/** The rules; a default missing from the ledger (a new one, or another process still seeding) is seeded first. */
export async function loadRules(): Promise<NoticeRule[]> {
  let rows = await NoticeRuleModel.find().lean();
  const have = new Set(rows.map((r) => String(r._id)));
  if (DEFAULT_RULES.some((r) => !have.has(r.id))) {
    await seedRules();
    rows = await NoticeRuleModel.find().lean();
  }
  return rows.map((r) => toRule(r as Record<string, unknown>));
}

const days = z.number({ error: "天数应为数字" }).int({ error: "天数应为整数" }).min(0, { error: "天数应在 0–365 之间" }).max(365, { error: "天数应在 0–365 之间" });
const triggerSchema = z.union([
  z.object({
    anchor: z.enum(ANCHOR_NAMES, { error: "起算点不正确" }),
    direction: z.enum(["before", "after"], { error: "应为期限前或期限后" }),
    days,
    unit: z.enum(["workday", "calendar"], { error: "应为工作日或自然日" }),
  }),
  z.object({ behindSchedule: z.literal(true), marginPoints: z.number().min(0).max(100) }),
]);

export const rulePatchSchema = z
  .object({
    triggers: z.array(triggerSchema).min(1, { error: "至少设置一个触发条件" }).max(5, { error: "最多设置 5 个触发条件" }),
    recipients: z.array(z.enum(["unit", "unit_head", "office", "leader"])).min(1, { error: "至少选择一个接收方" }),
    holders: z.array(z.enum(HOLDERS, { error: "办理方应为 unit（责任单位）或 office（整改办）" })).min(1, { error: "至少选择一个办理方" }),
    points: z.number({ error: "扣分应为数字" }).min(-10, { error: "扣分不能低于 -10" }).max(0, { error: "扣分应为 0 或负数" }),
    states: z.array(z.string().min(1)).min(1),
    level: z.enum(LEVELS),
    clause: z.string().max(500),
    enabled: z.boolean(),
  })
  .partial()
  .strict();

/** Changes a rule (office admin only); cases pick it up the next time their schedule is computed. */
export async function updateRule(id: string, patch: unknown, actor: Actor): Promise<NoticeRule> {
  if (actor.role !== "office_admin") throw forbidden("只有整改办管理员可以修改预警规则");
  const parsed = rulePatchSchema.safeParse(patch);
  if (!parsed.success) throw fromZod(parsed.error);
  const stored = await NoticeRuleModel.findById(id).lean();
  if (!stored) throw notFound("预警规则");
  const current = toRule(stored as Record<string, unknown>);
  // States and anchors the rule's kind does not have would make a rule that silently never fires, and so
  // would a state that none of the rule's holders holds.
  const problems: FieldError[] = [];
  const known = stateKeys(current.kind);
  const unknown = (parsed.data.states ?? []).filter((s) => !known.includes(s));
  if (unknown.length) problems.push({ field: "states", message: `没有这些案件状态：${unknown.join("、")}` });
  const holders = parsed.data.holders ?? current.holders;
  // A state's parties: its holder, and whoever owes a decision on the holder's request there (延期待批).
  const unheld = (parsed.data.states ?? current.states).filter((s) => known.includes(s) && !partiesOf(current.kind, s).some((p) => holders.includes(p)));
  if (unheld.length && !unknown.length)
    problems.push({
      field: parsed.data.holders ? "holders" : "states",
      message: `这些状态不由${holders.map((h) => HOLDER_LABELS[h]).join("或")}办理，规则在其中不会触发：${unheld.map((s) => stateLabel(current.kind, s)).join("、")}`,
    });
  for (const t of parsed.data.triggers ?? [])
    if ("anchor" in t && !ANCHORS[current.kind].includes(t.anchor)) problems.push({ field: "triggers", message: `此类案件没有起算点“${ANCHOR_LABELS[t.anchor]}”` });
  if (problems.length) throw invalid(problems);
  const updated = await NoticeRuleModel.findOneAndUpdate(
    { _id: id },
    { $set: { ...parsed.data, updatedBy: actor.id } },
    { returnDocument: "after", lean: true },
  );
  if (!updated) throw notFound("预警规则");
  cached = null;
  return toRule(updated as Record<string, unknown>);
}
