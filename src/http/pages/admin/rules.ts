/** 管理 → 预警督办规则: the escalation ladder's triggers, holders, points and clauses. */
import type { Request, Response } from "express";
import { ANCHOR_LABELS, HOLDER_LABELS, HOLDERS, KIND_LABELS, LEVEL_LABELS, stateLabel, type CaseKind, type Level, type NoticeRule, type Trigger } from "../../../../workflows/index.ts";
import { invalid, notFound } from "../../../errors.ts";
import { loadRules, updateRule } from "../../../notices/rules.ts";
import { assertCsrf } from "../../auth.ts";
import { actorOf, formOf, str, type Body, type Errors } from "../render.ts";
import { checked, refusal, type AdminEditor } from "./forms.ts";

const RECIPIENT_LABELS: Record<string, string> = { unit: "责任单位", unit_head: "责任单位主要负责人", office: "整改办", leader: "分管领导" };
const DAY_UNIT_LABELS: Record<string, string> = { workday: "工作日", calendar: "自然日" };

/** "期限前 5 个工作日", "期限后 0 个自然日", "滞后于序时进度 20 个百分点". */
export function triggerText(t: Trigger): string {
  if ("behindSchedule" in t) return `滞后于序时进度 ${t.marginPoints} 个百分点`;
  return `${ANCHOR_LABELS[t.anchor] ?? t.anchor}${t.direction === "before" ? "前" : "后"} ${t.days} 个${DAY_UNIT_LABELS[t.unit] ?? t.unit}`;
}

export const ruleEditor: AdminEditor = (router, { page }) => {
  async function showRules(req: Request, res: Response, form?: { id: string; values: Body; errors: Errors }, status = 200) {
    const rules = await loadRules();
    const order = (r: NoticeRule) => `${r.kind === "inspection" ? 0 : 1}-${String(Object.keys(LEVEL_LABELS).indexOf(r.level)).padStart(2, "0")}`;
    const rows = rules
      .sort((a, b) => order(a).localeCompare(order(b)))
      .map((r) => {
        const editing = form?.id === r.id ? form : null;
        const v = (k: string, saved: unknown) => (editing ? str(editing.values, k) : String(saved ?? ""));
        return {
          id: r.id,
          levelLabel: LEVEL_LABELS[r.level as Level] ?? r.level,
          kindLabel: KIND_LABELS[r.kind] ?? r.kind,
          states: r.states.map((s) => stateLabel(r.kind as CaseKind, s)).join("、"),
          triggers: r.triggers.map(triggerText),
          recipients: r.recipients.map((x) => RECIPIENT_LABELS[x] ?? x).join("、"),
          holders: r.holders.map((h) => HOLDER_LABELS[h]).join("、"),
          holderChoices: HOLDERS.map((h) => ({ value: h, label: HOLDER_LABELS[h], checked: editing ? [editing.values.holders].flat().includes(h) : r.holders.includes(h) })),
          points: r.points,
          clause: r.clause ?? "",
          enabled: r.enabled,
          open: !!editing,
          errors: editing?.errors ?? {},
          fields: r.triggers.map((t, i) =>
            "behindSchedule" in t
              ? { i, behind: true, margin: v(`t${i}_margin`, t.marginPoints), error: editing?.errors[`t${i}`] }
              : { i, behind: false, label: `${ANCHOR_LABELS[t.anchor] ?? t.anchor}${t.direction === "before" ? "前" : "后"}`, days: v(`t${i}_days`, t.days), unit: v(`t${i}_unit`, t.unit), error: editing?.errors[`t${i}`] },
          ),
          values: { points: v("points", r.points), clause: v("clause", r.clause), enabled: editing ? checked(editing.values, "enabled") : r.enabled },
        };
      });
    page(req, res, "rules", { title: "预警督办规则", rows }, status, form ? `rule-${form.id}` : null);
  }

  router.get("/rules", async (req, res) => {
    await showRules(req, res);
  });

  router.post("/rules/:id", async (req, res) => {
    assertCsrf(req);
    const id = String(req.params.id);
    // loadRules seeds the defaults into an empty ledger, as the page that showed the form did.
    const rule = (await loadRules()).find((r) => r.id === id);
    if (!rule) throw notFound("预警规则");
    const body = formOf(req);
    try {
      // The numbers are read here (a blank is not 0); the rule's own schema checks them again.
      const fields: { field: string; message: string }[] = [];
      const triggers = rule.triggers.map((t, i): Trigger => {
        if ("behindSchedule" in t) {
          const margin = str(body, `t${i}_margin`).trim();
          const n = Number(margin);
          if (!/^\d+(\.\d+)?$/.test(margin) || n > 100) fields.push({ field: `t${i}`, message: "百分点应为 0–100 的数" });
          return { behindSchedule: true, marginPoints: n };
        }
        const days = str(body, `t${i}_days`).trim();
        const unit = str(body, `t${i}_unit`);
        if (!/^\d{1,3}$/.test(days) || Number(days) > 365) fields.push({ field: `t${i}`, message: "天数应为 0–365 的整数" });
        else if (unit !== "workday" && unit !== "calendar") fields.push({ field: `t${i}`, message: "应为工作日或自然日" });
        return { anchor: t.anchor, direction: t.direction, days: Number(days), unit: unit as "workday" };
      });
      const pointsText = str(body, "points").trim();
      if (!/^-?\d+(\.\d+)?$/.test(pointsText)) fields.push({ field: "points", message: "扣分应为数字（0 或负数）" });
      if (fields.length) throw invalid(fields);
      const holders = [body.holders].flat().filter((h): h is string => typeof h === "string");
      await updateRule(id, { triggers, holders, points: Number(pointsText), clause: str(body, "clause").trim(), enabled: checked(body, "enabled") }, actorOf(res)!);
      res.redirect(303, "/admin/rules?done=rule_saved");
    } catch (e) {
      const { status, errors } = refusal(e, (p) => {
        const m = /^triggers\.(\d+)/.exec(p);
        return m ? `t${m[1]}` : p.split(".")[0]!;
      });
      await showRules(req, res, { id, values: body, errors }, status);
    }
  });
};
