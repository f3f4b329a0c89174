/** 管理 → 用户: accounts, roles, units, passwords and deactivation. */
import type { Request, Response } from "express";
import { ROLE_LABELS } from "../../../../workflows/index.ts";
import type { UserDoc } from "../../../db/models.ts";
import { createUser, findUser, listUnits, listUsers, newUserSchema, updateUser } from "../../../directory.ts";
import { fromZod, notFound } from "../../../errors.ts";
import { assertCsrf } from "../../auth.ts";
import { actorOf, formOf, str, type Body, type Errors } from "../render.ts";
import { refusal, type AdminEditor } from "./forms.ts";

const ROLE_CHOICES = ["office_admin", "office_staff", "unit_user", "leader"] as const;

interface UserForm {
  add?: { values: Body; errors: Errors };
  row?: { id: string; action: "edit" | "password" | "active"; values: Body; errors: Errors };
}

async function targetUser(req: Request) {
  const user = await findUser(String(req.params.id));
  if (!user) throw notFound("用户");
  return user;
}

const userEdit = newUserSchema.pick({ displayName: true, role: true, unitId: true }).strict();

export const userEditor: AdminEditor = (router, { page }) => {
  async function showUsers(req: Request, res: Response, form: UserForm = {}, status = 200) {
    const [users, units] = await Promise.all([listUsers(), listUnits()]);
    const names = new Map(units.map((u) => [u._id.toString(), u.name]));
    const me = actorOf(res)!.id;
    const rank = (u: UserDoc) => (u.active ? 0 : 10) + ROLE_CHOICES.indexOf(u.role as (typeof ROLE_CHOICES)[number]);
    const rows = users.sort((a, b) => rank(a) - rank(b)).map((u) => {
      const id = u._id.toString();
      const row = form.row?.id === id ? form.row : null;
      return {
        id,
        username: u.username,
        displayName: u.displayName,
        roleLabel: ROLE_LABELS[u.role] ?? u.role,
        unit: u.unitId ? (names.get(u.unitId) ?? "（单位不存在）") : "",
        active: u.active,
        self: id === me,
        edit: row?.action === "edit" ? { values: row.values, errors: row.errors, open: true } : { values: { displayName: u.displayName, role: u.role, unitId: u.unitId ?? "" }, errors: {}, open: false },
        password: row?.action === "password" ? { errors: row.errors, open: true } : { errors: {}, open: false },
        activeError: row?.action === "active" ? (row.errors.active ?? row.errors._form) : null,
      };
    });
    page(
      req,
      res,
      "users",
      {
        title: "用户管理",
        rows,
        roles: ROLE_CHOICES.map((r) => ({ value: r, label: ROLE_LABELS[r] })),
        units: units.filter((u) => u.active).map((u) => ({ id: u._id.toString(), name: u.name })),
        add: form.add ?? { values: { role: "unit_user" }, errors: {} },
      },
      status,
      form.row ? `user-${form.row.id}` : "add-user",
    );
  }

  router.get("/users", async (req, res) => {
    await showUsers(req, res);
  });

  router.post("/users", async (req, res) => {
    assertCsrf(req);
    const body = formOf(req);
    try {
      await createUser({ username: str(body, "username"), displayName: str(body, "displayName"), password: str(body, "password"), role: str(body, "role") as never, unitId: str(body, "unitId") || null });
      res.redirect(303, "/admin/users?done=user_created");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { add: { values: { ...body, password: "" }, errors } }, status);
    }
  });

  /** Name, role and unit, by updateUser's rules (as PATCH /api/users). */
  router.post("/users/:id", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    const body = formOf(req);
    try {
      const parsed = userEdit.safeParse({ displayName: str(body, "displayName"), role: str(body, "role"), unitId: str(body, "unitId") || null });
      if (!parsed.success) throw fromZod(parsed.error);
      await updateUser(actorOf(res)!, id, parsed.data);
      res.redirect(303, "/admin/users?done=user_saved");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "edit", values: body, errors } }, status);
    }
  });

  router.post("/users/:id/password", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    try {
      const parsed = newUserSchema.pick({ password: true }).safeParse({ password: str(formOf(req), "password") });
      if (!parsed.success) throw fromZod(parsed.error);
      await updateUser(actorOf(res)!, id, parsed.data, req.sessionID);
      res.redirect(303, "/admin/users?done=password_reset");
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "password", values: {}, errors } }, status);
    }
  });

  router.post("/users/:id/active", async (req, res) => {
    assertCsrf(req);
    const user = await targetUser(req);
    const id = user._id.toString();
    const active = str(formOf(req), "active") === "true";
    try {
      await updateUser(actorOf(res)!, id, { active }, req.sessionID);
      res.redirect(303, `/admin/users?done=${active ? "user_activated" : "user_deactivated"}`);
    } catch (e) {
      const { status, errors } = refusal(e);
      await showUsers(req, res, { row: { id, action: "active", values: {}, errors } }, status);
    }
  });
};
