/** Units and users: creation with validation, lookups, password checks (argon2id). */
import { hash, verify } from "@node-rs/argon2";
import mongoose from "mongoose";
import { z } from "zod";
import { VISIBLE, type Actor } from "../workflows/index.ts";
import { Session, Unit, User, isDuplicateKey, type UnitDoc, type UserDoc } from "./db/models.ts";
import { duplicate, fromZod, invalid, notFound } from "./errors.ts";
import { contactsInput } from "./notices/addressees.ts";
import { ROBOT_TARGETS, mergeTargets, type RobotChannel, type StoredTargets } from "./notices/targets.ts";

export const newUnitSchema = z.object({
  name: z.string({ error: "请填写单位名称" }).max(100, { error: "单位名称不能超过 100 个字" }).regex(VISIBLE, { error: "请填写单位名称" }).trim(),
  shortName: z.string().max(50).trim().optional(),
  aliases: z.array(z.string().max(100).regex(VISIBLE, { error: "别名不能为空" }).trim()).max(20).default([]),
  parentId: z.string().max(64).nullable().default(null),
  contacts: contactsInput.default([]),
  notify: z
    .object({
      emails: z.array(z.email({ error: "电子邮箱格式不正确" })).max(20).default([]),
      webhookUrl: z.url({ protocol: /^https?$/, error: "推送地址应为 http(s) 网址" }).nullable().default(null),
      webhookSecret: z.string().min(16, { error: "推送签名密钥至少 16 位" }).max(200, { error: "推送签名密钥不能超过 200 位" }).nullable().default(null),
      ...ROBOT_TARGETS,
    })
    .default({ emails: [], webhookUrl: null, webhookSecret: null, wecom: null, dingtalk: null, feishu: null, sms: null }),
});

const nameTaken = (name: string) => duplicate("name", `单位“${name}”已存在`);

/**
 * Refuses a name another unit has. The unique index still settles races, but FerretDB v2 reports its
 * violation by a findOneAndUpdate as InternalError (code 1) rather than 11000 (docs/database.md).
 */
async function assertUnitNameFree(name: string, except?: mongoose.Types.ObjectId): Promise<void> {
  if (await Unit.exists({ name, ...(except && { _id: mongoose.trusted({ $ne: except }) }) })) throw nameTaken(name);
}

export async function createUnit(input: z.input<typeof newUnitSchema>): Promise<UnitDoc> {
  const parsed = newUnitSchema.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const { wecom, dingtalk, feishu, sms } = parsed.data.notify;
  const robots = mergeTargets(null, { wecom, dingtalk, feishu, sms });
  if (robots.missing) throw invalid([robots.missing]);
  Object.assign(parsed.data.notify, robots.set);
  await assertUnitNameFree(parsed.data.name);
  try {
    return (await Unit.create(parsed.data)).toObject();
  } catch (e) {
    if (isDuplicateKey(e)) throw nameTaken(parsed.data.name);
    throw e;
  }
}

/** A unit's stored robots and SMS, secrets included: for merging a change, never for showing. */
export async function unitTargets(id: string): Promise<StoredTargets | null> {
  if (!mongoose.isObjectIdOrHexString(id)) throw notFound("单位");
  const u = await Unit.findById(id, { notify: 1 }).lean();
  if (!u) throw notFound("单位");
  return (u.notify ?? null) as StoredTargets | null;
}

/** A change to a unit, already validated: a field left undefined is kept; a null shortName is removed. */
export interface UnitChange {
  name?: string;
  shortName?: string | null;
  aliases?: string[];
  parentId?: string | null;
  contacts?: z.infer<typeof newUnitSchema>["contacts"];
  active?: boolean;
  /** Each channel on its own: sending only emails keeps the webhook; a robot's left-out secret is kept (mergeTargets). */
  notify?: {
    emails?: string[];
    webhookUrl?: string | null;
    webhookSecret?: string | null;
  } & Partial<Record<RobotChannel, Record<string, unknown> | null | undefined>>;
}

/** Changes a unit field by field (the API's PATCH and the 管理 page alike). */
export async function updateUnit(id: string, change: UnitChange): Promise<UnitDoc> {
  const _id = mongoose.isObjectIdOrHexString(id) ? new mongoose.Types.ObjectId(id) : null;
  if (!_id) throw notFound("单位");
  const { notify, shortName, ...rest } = change;
  const set: Record<string, unknown> = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
  const unset: Record<string, 1> = {};
  if (shortName === null) unset.shortName = 1;
  else if (shortName !== undefined) set.shortName = shortName;
  const { wecom, dingtalk, feishu, sms, ...plain } = notify ?? {};
  for (const [k, v] of Object.entries(plain)) if (v !== undefined) set[`notify.${k}`] = v;
  if ([wecom, dingtalk, feishu, sms].some((v) => v !== undefined)) {
    const robots = mergeTargets(await unitTargets(id), { wecom, dingtalk, feishu, sms });
    if (robots.missing) throw invalid([robots.missing]);
    for (const [k, v] of Object.entries(robots.set)) set[`notify.${k}`] = v;
  }
  // A missing unit is answered 404 (below), whatever name it was sent.
  if (typeof set.name === "string" && (await Unit.exists({ _id }))) await assertUnitNameFree(set.name, _id);
  const update = Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set };
  const u = await Unit.findOneAndUpdate({ _id }, update, { returnDocument: "after", lean: true }).catch((e) => {
    throw isDuplicateKey(e) ? nameTaken(String(set.name)) : e;
  });
  if (!u) throw notFound("单位");
  return u as UnitDoc;
}

export const newUserSchema = z.object({
  username: z.string({ error: "请填写用户名" }).regex(/^[a-zA-Z0-9_.-]{2,40}$/, { error: "用户名应为 2–40 位字母、数字、下划线、点或连字符" }),
  displayName: z.string({ error: "请填写姓名" }).max(50, { error: "姓名不能超过 50 个字" }).regex(VISIBLE, { error: "请填写姓名" }).trim(),
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
 * or deactivates themself: a sole admin would lock everyone out of administration. A new password or
 * a deactivation signs the user out everywhere but in `keepSession` (the session that made the change).
 */
export async function updateUser(by: Pick<Actor, "id">, id: string, change: UserChange, keepSession = ""): Promise<UserDoc> {
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
  if (password || change.active === false) await endSessions(u._id.toString(), keepSession);
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
  const active = await activeUnitIds(ids);
  const unknown = ids.filter((id) => !active.has(id));
  if (unknown.length) throw invalid([{ field, message: `单位不存在或已停用：${unknown.join("、")}` }], "所选单位不存在或已停用");
}

/** Of these ids, the active units' (one query for many checks: a bulk registration). */
export async function activeUnitIds(ids: string[]): Promise<Set<string>> {
  const valid = [...new Set(ids)].filter((id) => mongoose.isObjectIdOrHexString(id));
  const found = valid.length ? await Unit.find({ _id: mongoose.trusted({ $in: valid }), active: true }, { _id: 1 }).lean() : [];
  return new Set(found.map((u) => u._id.toString()));
}

/** A text searched for as itself (a "." is a dot), in a $regex. */
export const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The one order of units on every page (pickers, filters, the batch form): the 单位管理 page's, active
 * units first, then by name. A picker and a filter never list the same units differently.
 */
const UNIT_ORDER = { active: -1, name: 1, _id: 1 } as const;

/** Every unit's name by id, in the units' order (pages show names where the ledger keeps ids). */
export async function unitNames(): Promise<Map<string, string>> {
  const units = await Unit.find({}, { name: 1 }).sort(UNIT_ORDER).lean<UnitDoc[]>();
  return new Map(units.map((u) => [u._id.toString(), u.name]));
}

/** Units by name (the API), or in the units' order (UNIT_ORDER: pages); `activeOnly` for choices. */
export async function listUnits(opts: { order?: "name" | "active"; activeOnly?: boolean } = {}): Promise<UnitDoc[]> {
  const sort = opts.order === "active" ? UNIT_ORDER : { name: 1 as const };
  return Unit.find(opts.activeOnly ? { active: true } : {}).sort(sort).lean<UnitDoc[]>();
}

/** What a unit picker offers: the active units, in the units' order. */
export async function unitChoices(): Promise<{ id: string; name: string }[]> {
  return (await listUnits({ order: "active", activeOnly: true })).map((u) => ({ id: u._id.toString(), name: u.name }));
}

/** Ids of the units whose name, short name or an alias contains the text (the 台账 search finds a unit's cases by them). */
export async function unitIdsMatching(text: string): Promise<string[]> {
  const q = text.trim();
  if (!q) return [];
  const re = mongoose.trusted({ $regex: escapeRegex(q), $options: "i" });
  const units = await Unit.find({ $or: [{ name: re }, { shortName: re }, { aliases: re }] }, { _id: 1 }).limit(50).lean();
  return units.map((u) => u._id.toString());
}

export async function unitExists(id: string): Promise<boolean> {
  return mongoose.isObjectIdOrHexString(id) ? !!(await Unit.exists({ _id: id })) : false;
}

/** A user by id, or null (an id that is no ObjectId is no user). */
export async function findUser(id: string, opts: { activeOnly?: boolean } = {}): Promise<UserDoc | null> {
  if (!mongoose.isObjectIdOrHexString(id)) return null;
  return User.findOne({ _id: id, ...(opts.activeOnly ? { active: true } : {}) }).lean<UserDoc>();
}

export async function listUsers(): Promise<UserDoc[]> {
  return User.find({}).sort({ username: 1 }).lean<UserDoc[]>();
}

/** How many units and users there are, and how many are active (the 管理 overview). */
export async function directoryCounts() {
  const [units, activeUnits, users, activeUsers] = await Promise.all([
    Unit.countDocuments({}),
    Unit.countDocuments({ active: true }),
    User.countDocuments({}),
    User.countDocuments({ active: true }),
  ]);
  return { units, activeUnits, users, activeUsers };
}

/** Signs a user out everywhere (but the session `keep`): after a password reset or deactivation. */
export async function endSessions(userId: string, keep = ""): Promise<void> {
  await Session.deleteMany({ "session.userId": userId, _id: mongoose.trusted({ $ne: keep }) });
}
