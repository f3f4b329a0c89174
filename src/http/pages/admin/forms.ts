/** What the 管理 editors share: how a page is drawn, and how a posted form is read and refused. */
import type express from "express";
import type { Request, Response } from "express";
import type { Queue } from "bullmq";
import type { Clock } from "../../../clock.ts";
import { AppError } from "../../../errors.ts";
import { refusal as refuseForm, str, type Body } from "../render.ts";

export interface AdminPageDeps {
  clock: Clock;
  /** The BullMQ queues this process holds (none in a web-only process). */
  queues: Queue[];
}

/** Renders views/pages/admin/<view> with the admin's tabs and a flash message; `failedAt` is the form to show open. */
export type AdminPage = (req: Request, res: Response, view: string, data: Record<string, unknown>, status?: number, failedAt?: string | null) => void;

/** An editor adds its routes to the 管理 router. */
export type AdminEditor = (router: express.Router, ctx: { page: AdminPage; deps: AdminPageDeps }) => void;

/** "a、b，c" → ["a", "b", "c"] (aliases: commas, 、 or new lines; e-mails also spaces and semicolons). */
export const splitList = (s: string, spaces = false) =>
  s
    .split(spaces ? /[,，、;；\s]+/ : /[,，、;；\r\n]+/)
    .map((x) => x.trim())
    .filter(Boolean);
export const checked = (body: Body, key: string) => ["on", "true", "1"].includes(str(body, key));

/** Chinese words for the schema messages that have none (zod's own length/format messages). */
const FALLBACK: Record<string, string> = {
  name: "单位名称不超过 100 字",
  shortName: "简称不超过 50 字",
  aliases: "别名每个不超过 100 字，最多 20 个",
  emails: "电子邮箱格式不正确，最多 20 个",
  webhookUrl: "推送地址应为 http(s) 网址",
  webhookSecret: "推送签名密钥 16–200 位",
  username: "用户名应为 2–40 位字母、数字、下划线、点或连字符",
  displayName: "姓名不超过 50 字",
  password: "密码 8–200 位",
  role: "角色不正确",
  unitId: "所选单位不存在或已停用",
  points: "扣分应为 -10 到 0 之间的数",
  replyDays: "签收或报送期限应为 1–30 个工作日",
  clause: "条款依据不超过 500 字",
  note: "备注不超过 200 字",
};

/** A refused form, its fields named as the form names them ("notify.emails.0" → "emails" by `toField`). */
export const refusal = (e: unknown, toField: (path: string) => string = (p) => p.split(".")[0]!) => {
  if (e instanceof AppError && e.status === 403) throw e;
  return refuseForm(e, toField, FALLBACK);
};
