/** 管理 → 单位: the units, their aliases and where their notices go. */
import type { Request, Response } from "express";
import { createUnit, listUnits, newUnitSchema, unitExists, updateUnit } from "../../../directory.ts";
import { fromZod, notFound } from "../../../errors.ts";
import { assertCsrf } from "../../auth.ts";
import { formOf, str, type Body, type Errors } from "../render.ts";
import { checked, refusal, splitList, type AdminEditor } from "./forms.ts";

interface UnitForm {
  add?: { values: Body; errors: Errors };
  edit?: { id: string; values: Body; errors: Errors };
}

const unitField = (path: string) => {
  const [head, second] = path.split(".");
  return head === "notify" ? (second ?? "emails") : head!;
};

const unitEdit = newUnitSchema.pick({ shortName: true, aliases: true, notify: true }).strict();

export const unitEditor: AdminEditor = (router, { page }) => {
  async function showUnits(req: Request, res: Response, form: UnitForm = {}, status = 200) {
    const units = await listUnits({ order: "active" });
    const rows = units.map((u) => {
      const id = u._id.toString();
      const editing = form.edit?.id === id ? form.edit : null;
      const saved = {
        shortName: u.shortName ?? "",
        aliases: (u.aliases ?? []).join("、"),
        emails: (u.notify?.emails ?? []).join(", "),
        webhookUrl: u.notify?.webhookUrl ?? "",
        active: u.active ? "on" : "",
      };
      return {
        id,
        name: u.name,
        shortName: u.shortName ?? "",
        aliases: (u.aliases ?? []).join("、"),
        active: u.active,
        emails: (u.notify?.emails ?? []).join(", "),
        webhook: !!u.notify?.webhookUrl,
        secretSet: !!u.notify?.webhookSecret,
        values: editing ? editing.values : saved,
        errors: editing?.errors ?? {},
        open: !!editing,
      };
    });
    page(req, res, "units", { title: "单位管理", rows, add: form.add ?? { values: {}, errors: {} } }, status, form.edit ? `unit-${form.edit.id}` : "add-unit");
  }

  router.get("/units", async (req, res) => {
    await showUnits(req, res);
  });

  router.post("/units", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await createUnit({
        name: str(body, "name"),
        shortName: str(body, "shortName").trim() || undefined,
        aliases: splitList(str(body, "aliases")),
        notify: {
          emails: splitList(str(body, "emails"), true),
          webhookUrl: str(body, "webhookUrl").trim() || null,
          webhookSecret: str(body, "webhookSecret") || null,
        },
      });
      res.redirect(303, "/admin/units?done=unit_created");
    } catch (e) {
      const { status, errors } = refusal(e, unitField);
      await showUnits(req, res, { add: { values: { ...body, webhookSecret: "" }, errors } }, status);
    }
  });

  router.post("/units/:id", async (req, res) => {
    assertCsrf(req);
    const id = String(req.params.id);
    if (!(await unitExists(id))) throw notFound("单位");
    const body = formOf(req);
    const secret = str(body, "webhookSecret");
    try {
      const parsed = unitEdit.safeParse({
        shortName: str(body, "shortName"),
        aliases: splitList(str(body, "aliases")),
        notify: { emails: splitList(str(body, "emails"), true), webhookUrl: str(body, "webhookUrl").trim() || null, webhookSecret: secret || null },
      });
      if (!parsed.success) throw fromZod(parsed.error);
      const { shortName, aliases, notify } = parsed.data;
      // A blank secret leaves the stored one alone; only the box clears it.
      const webhookSecret = secret ? notify.webhookSecret : checked(body, "clearSecret") ? null : undefined;
      await updateUnit(id, { shortName: shortName || null, aliases, active: checked(body, "active"), notify: { emails: notify.emails, webhookUrl: notify.webhookUrl, webhookSecret } });
      res.redirect(303, "/admin/units?done=unit_saved");
    } catch (e) {
      const { status, errors } = refusal(e, unitField);
      await showUnits(req, res, { edit: { id, values: { ...body, webhookSecret: "" }, errors } }, status);
    }
  });
};
