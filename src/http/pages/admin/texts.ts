/** 管理 → 通知文本 and 系统设置: the words of each notice level, and the signature every notice carries. */
import type { Request, Response } from "express";
import { KIND_LABELS, LEVELS, LEVEL_LABELS } from "../../../../workflows/index.ts";
import { loadCalendar } from "../../../calendar/workdays.ts";
import { notFound } from "../../../errors.ts";
import { loadRules } from "../../../notices/rules.ts";
import { VERIFICATION_TERMS, loadSettings, updateSettings } from "../../../notices/settings.ts";
import { PLACEHOLDERS, loadTexts, preview, updateText } from "../../../notices/texts.ts";
import { assertCsrf } from "../../auth.ts";
import { actorOf, formOf, str, type Body, type Errors } from "../render.ts";
import { refusal, type AdminEditor } from "./forms.ts";

/** The posted text, as updateText and preview take it (a blank or non-numeric day count is refused by their schema). */
const textInput = (body: Body) => {
  const days = str(body, "replyDays").trim();
  return { title: str(body, "title"), body: str(body, "body"), replyDays: /^\d{1,3}$/.test(days) ? Number(days) : days === "" ? undefined : Number.NaN };
};

export const textEditor: AdminEditor = (router, { page, deps }) => {
  async function showTexts(req: Request, res: Response, form?: { level: string; values: Body; errors: Errors; preview?: unknown }, status = 200) {
    const [texts, rules] = await Promise.all([loadTexts(), loadRules()]);
    const rows = LEVELS.map((level) => {
      const editing = form?.level === level ? form : null;
      const t = texts[level];
      const kinds = [...new Set(rules.filter((r) => r.level === level).map((r) => KIND_LABELS[r.kind]))];
      return {
        level,
        label: LEVEL_LABELS[level],
        kinds: kinds.length ? `用于：${kinds.join("、")}` : "用于：手工发出",
        values: editing ? { title: str(editing.values, "title"), body: str(editing.values, "body"), replyDays: str(editing.values, "replyDays") } : { title: t.title, body: t.body, replyDays: t.replyDays },
        errors: editing?.errors ?? {},
        preview: editing?.preview ?? null,
      };
    });
    page(req, res, "texts", { title: "通知文本", rows, placeholders: PLACEHOLDERS }, status, form && status >= 400 ? `text-${form.level}` : null);
  }

  router.get("/texts", async (req, res) => {
    await showTexts(req, res);
  });

  router.post("/texts/:level/preview", async (req, res) => {
    assertCsrf(req);
    const level = String(req.params.level);
    const body = formOf(req);
    if (!(LEVELS as readonly string[]).includes(level)) throw notFound("通知类别");
    try {
      const settings = await loadSettings();
      const shown = preview(level, textInput(body), { office: settings.signer, calendar: await loadCalendar(), issuedAt: deps.clock.now() });
      await showTexts(req, res, { level, values: body, errors: {}, preview: { ...shown, to: `${shown.samples[0]?.to ?? ""}：` } });
    } catch (e) {
      const { status, errors } = refusal(e);
      await showTexts(req, res, { level, values: body, errors }, status);
    }
  });

  router.post("/texts/:level", async (req, res) => {
    assertCsrf(req);
    const level = String(req.params.level);
    const body = formOf(req);
    try {
      await updateText(level, textInput(body), actorOf(res)!);
      res.redirect(303, `/admin/texts?done=text_saved#text-${level}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showTexts(req, res, { level, values: body, errors }, status);
    }
  });
};

export const settingsEditor: AdminEditor = (router, { page }) => {
  async function showSettings(req: Request, res: Response, form?: { values: Body; errors: Errors }, status = 200) {
    const saved = await loadSettings();
    page(req, res, "settings", { title: "系统设置", values: form?.values ?? saved, errors: form?.errors ?? {}, terms: VERIFICATION_TERMS }, status);
  }

  router.get("/settings", async (req, res) => {
    await showSettings(req, res);
  });

  router.post("/settings", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      const keys = ["issuerMark", "signer", "contactName", "contactPhone", "cc", "verificationTerm"] as const;
      await updateSettings(Object.fromEntries(keys.map((k) => [k, str(body, k)])), actorOf(res)!);
      res.redirect(303, "/admin/settings?done=settings_saved");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showSettings(req, res, { values: body, errors }, status);
    }
  });
};
