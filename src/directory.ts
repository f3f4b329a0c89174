/** Units and users: creation with validation, lookups, password checks (argon2id). */
import { hash, verify } from "@node-rs/argon2";
import mongoose from "mongoose";
import { z } from "zod";
import type { Actor } from "../workflows/index.ts";
import { Unit, User, isDuplicateKey, type UnitDoc, type UserDoc } from "./db/models.ts";
import { duplicate, fromZod, invalid, notFound } from "./errors.ts";

export const newUnitSchema = z.object({
  name: z.string({ error: "请填写单位名称" }).trim().min(1, { error: "请填写单位名称" }).max(100, { error: "单位名称不能超过 100 个字" }),
  shortName: z.string().trim().max(50).optional(),
  aliases: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
  parentId: z.string().max(64).nullable().default(null),
  contacts: z
    .array(z.object({ name: z.string().max(50), title: z.string().max(50).optional(), phone: z.string().max(50).optional(), email: z.string().max(200).optional() }))
    .max(20)
    .default([]),
  notify: z
    .object({
      emails: z.array(z.email({ error: "电子邮箱格式不正确" })).max(20).default([]),
      webhookUrl: z.url({ protocol: /^https?$/, error: "推送地址应为 http(s) 网址" }).nullable().default(null),
      webhookSecret: z.string().min(16, { error: "推送签名密钥至少 16 位" }).max(200, { error: "推送签名密钥不能超过 200 位" }).nullable().default(null),
    })
    .default({ emails: [], webhookUrl: null, webhookSecret: null }),
});

const nameTaken = (name: string) => duplicate("name", `单位“${name}”已存在`);

/**
 * Refuses a name another unit has. The unique index still settles races, but FerretDB reports its
 * violation by an update as code 1 rather than 11000, which would surface as a 500.
 */
async function assertUnitNameFree(name: string, except?: mongoose.Types.ObjectId): Promise<void> {
  if (await Unit.exists({ name, ...(except && { _id: mongoose.trusted({ $ne: except }) }) })) throw nameTaken(name);
}

export async function createUnit(input: z.input<typeof newUnitSchema>): Promise<UnitDoc> {
  const parsed = newUnitSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  await assertUnitNameFree(parsed.data.name);
  try {
    return (await Unit.create(parsed.data)).toObject();
  } catch (e) {
    if (isDuplicateKey(e)) throw nameTaken(parsed.data.name);
    throw e;
  }
}

/** Sets the given fields (already validated; dotted paths allowed) of a unit. */
export async function updateUnit(id: string, set: Record<string, unknown>): Promise<UnitDoc> {
  const _id = mongoose.isObjectIdOrHexString(id) ? new mongoose.Types.ObjectId(id) : null;
  if (!_id) throw notFound("单位");
  // A missing unit is answered 404 (below), whatever name it was sent.
  if (typeof set.name === "string" && (await Unit.exists({ _id }))) await assertUnitNameFree(set.name, _id);
  const u = await Unit.findOneAndUpdate({ _id }, { $set: set }, { returnDocument: "after", lean: true }).catch((e) => {
    throw isDuplicateKey(e) ? nameTaken(String(set.name)) : e;
  });
  if (!u) throw notFound("单位");
  return u as UnitDoc;
}

export const newUserSchema = z.object({
  username: z
    .string({ error: "请填写用户名" })
    .trim()
    .regex(/^[a-zA-Z0-9_.-]{2,40}$/, { error: "用户名应为 2–40 位字母、数字、下划线、点或连字符" }),
  displayName: z.string({ error: "请填写姓名" }).trim().min(1, { error: "请填写姓名" }).max(50, { error: "姓名不能超过 50 个字" }),
  password: z.string({ error: "请填写密码" }).min(8, { error: "密码至少 8 位" }).max(200, { error: "密码不能超过 200 位" }),
  role: z.enum(["office_admin", "office_staff", "unit_user", "leader"], { error: "角色不正确" }),
  unitId: z.string().max(64).nullable().default(null),
});

export async function createUser(input: z.input<typeof newUserSchema>): Promise<UserDoc> {
  const parsed = newUserSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const { password, ...rest } = parsed.data;
  await assertUserUnit(rest.role, rest.unitId);
  const passwordHash = await hash(password); // argon2id, OWASP parameters
  try {
    return (await User.create({ ...rest, passwordHash })).toObject();
  } catch (e) {
    if (isDuplicateKey(e)) throw duplicate("username", `用户名“${rest.username}”已被使用`);
    throw e;
  }
}

/** A liaison needs a unit, and a unit given for any role must be an active one. */
async function assertUserUnit(role: string, unitId: string | null | undefined): Promise<void> {
  if (unitId) await assertUnitsExist([unitId], "unitId");
  else if (role === "unit_user") throw invalid([{ field: "unitId", message: "责任单位联络员须选择所属单位" }]);
}

export interface UserChange {
  displayName?: string;
  role?: z.infer<typeof newUserSchema>["role"];
  unitId?: string | null;
  active?: boolean;
  password?: string;
}

/**
 * An admin's change to a user, for the API and the 管理 pages alike. Nobody changes their own role
 * or deactivates themself: a sole admin would lock everyone out of administration. The caller ends
 * the user's sessions after a new password or a deactivation.
 */
export async function updateUser(by: Pick<Actor, "id">, id: string, change: UserChange): Promise<UserDoc> {
  const current = mongoose.isObjectIdOrHexString(id) ? await User.findById(id, { role: 1, unitId: 1 }).lean() : null;
  if (!current) throw notFound("用户");
  // Compared by the stored id: the URL's may be spelled in upper case.
  if (current._id.toString() === by.id) {
    if (change.role !== undefined && change.role !== current.role) throw invalid([{ field: "role", message: "不能修改自己的角色" }]);
    if (change.active === false) throw invalid([{ field: "active", message: "不能停用自己的账号" }]);
  }
  // The unit is checked when role or unit change: a user of a unit since deactivated can still be renamed,
  // get a new password or be deactivated.
  const role = change.role ?? current.role;
  const unitId = change.unitId === undefined ? (current.unitId ?? null) : change.unitId;
  if (role !== current.role || unitId !== (current.unitId ?? null)) await assertUserUnit(role, unitId);
  const { password, ...rest } = change;
  const set: Record<string, unknown> = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  if (password) set.passwordHash = await hash(password);
  const u = await User.findOneAndUpdate({ _id: current._id }, { $set: set }, { returnDocument: "after", lean: true });
  if (!u) throw notFound("用户");
  return u as UserDoc;
}

let dummyHash: Promise<string> | undefined;

/** The user when the password matches; null otherwise (no hint which part was wrong, and an unknown name costs a hash too). */
export async function verifyPassword(username: string, password: string): Promise<UserDoc | null> {
  const user = await User.findOne({ username, active: true }).lean<UserDoc>();
  if (!user) {
    dummyHash ??= hash("rectiflow: no such user");
    await verify(await dummyHash, password).catch(() => false);
    return null;
  }
  return (await verify(user.passwordHash, password)) ? user : null;
}

export function actorOf(user: Pick<UserDoc, "_id" | "displayName" | "role" | "unitId">): Actor {
  return { id: user._id.toString(), name: user.displayName, role: user.role as Actor["role"], unitId: user.unitId ?? null };
}

/** Refuses ids that are not active units, naming the field ("payload.coUnitIds"). */
export async function assertUnitsExist(ids: string[], field: string): Promise<void> {
  if (ids.length === 0) return;
  const valid = ids.filter((id) => mongoose.isObjectIdOrHexString(id));
  const found = valid.length
    ? await Unit.find({ _id: mongoose.trusted({ $in: valid }), active: true }, { _id: 1 }).lean()
    : [];
  const known = new Set(found.map((u) => u._id.toString()));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) throw invalid([{ field, message: `单位不存在或已停用：${unknown.join("、")}` }], "所选单位不存在或已停用");
}

/** Every unit's name by id (units are few). */
export async function unitNames(): Promise<Map<string, string>> {
  const units = await Unit.find({}, { name: 1 }).lean();
  return new Map(units.map((u) => [u._id.toString(), u.name]));
}
