/**
 * The office's and leaders' channels and named people (units keep theirs on the unit: directory.ts),
 * edited by the office admin. One shape for all three: contacts (name, title, role, mobile, email)
 * and `notify` (emails and the robots and SMS of targets.ts, whose keys and secrets are write-only).
 * The office's document is made on its first edit; leaders are added and removed.
 */
import { randomBytes } from "node:crypto";
import mongoose from "mongoose";
import { z } from "zod";
import { VISIBLE } from "../../workflows/index.ts";
import { Addressee, Unit } from "../db/models.ts";
import { fromZod, invalid, notFound } from "../errors.ts";
import { ADDRESSEE_ID, CONTACT_ROLES, OFFICE_ID, loadTarget, type Target } from "./recipients.ts";
import { OPEN_ID } from "./channels.ts";
import { ROBOT_PATCH, ROBOT_TARGETS, mergeTargets, presentTargets, type StoredTargets } from "./targets.ts";

const mobile = z.string().trim().regex(/^1\d{10}$/, { error: "手机号应为 11 位数字，以 1 开头" });

/** A named person: whom a rung @-mentions and texts. */
export const contactInput = z.strictObject({
  name: z.string({ error: "请填写姓名" }).max(50, { error: "姓名不能超过 50 个字" }).regex(VISIBLE, { error: "请填写姓名" }).trim(),
  title: z.string().max(50, { error: "职务不能超过 50 个字" }).trim().optional(),
  role: z.enum(CONTACT_ROLES, { error: "身份应为 head（主要负责人）、liaison（联络员）、staff（工作人员）或 leader（领导）" }).optional(),
  mobile: mobile.optional(),
  phone: z.string().max(50).optional(),
  email: z.email({ error: "电子邮箱格式不正确" }).max(200).optional(),
  feishuId: z.string().trim().regex(OPEN_ID, { error: "飞书 open_id 应为 ou_ 加 32 位小写十六进制（在飞书开放平台按手机号查得）" }).optional(),
});
export const contactsInput = z.array(contactInput).max(20, { error: "联系人最多 20 位" });

const emails = z.array(z.email({ error: "电子邮箱格式不正确" })).max(20, { error: "电子邮箱最多 20 个" });

/** A change to the office or a leader: every field optional, a robot left out stays, null removes it. */
export const addresseePatch = z.strictObject({
  name: z.string().max(50, { error: "名称不能超过 50 个字" }).regex(VISIBLE, { error: "请填写名称" }).trim().optional(),
  title: z.string().max(50, { error: "职务不能超过 50 个字" }).trim().optional(),
  unitIds: z.array(z.string().regex(/^[0-9a-fA-F]{24}$/, { error: "单位不存在" })).max(200).optional(),
  contacts: contactsInput.optional(),
  notify: z.strictObject({ emails: emails.optional(), ...ROBOT_PATCH }).optional(),
});
export const newLeader = addresseePatch.extend({
  name: z.string({ error: "请填写领导姓名" }).max(50, { error: "姓名不能超过 50 个字" }).regex(VISIBLE, { error: "请填写领导姓名" }).trim(),
  notify: z.strictObject({ emails: emails.default([]), ...ROBOT_TARGETS }).optional(),
});

/** What the API and pages show: people as entered, channels without a key or secret. */
export function presentTarget(t: Target, key: string) {
  return {
    id: key,
    kind: t.kind,
    name: t.name,
    title: t.title ?? "",
    unitIds: t.unitIds ?? [],
    contacts: t.contacts.map((c) => ({ name: c.name, title: c.title ?? "", role: c.role ?? null, mobile: c.mobile ?? null, email: c.email ?? null, feishuId: c.feishuId ?? null })),
    notify: { emails: t.notify?.emails ?? [], ...presentTargets(t.notify as StoredTargets) },
  };
}

async function assertUnits(ids: string[] | undefined): Promise<void> {
  if (!ids?.length) return;
  const found = await Unit.countDocuments({ _id: mongoose.trusted({ $in: [...new Set(ids)] }) });
  if (found !== new Set(ids).size) throw invalid([{ field: "unitIds", message: "所选单位不存在" }]);
}

/** The `$set` of a change, robots merged with what is stored (a secret left out is kept). */
async function setOf(stored: Target | null, patch: z.infer<typeof addresseePatch>): Promise<Record<string, unknown>> {
  const { notify, unitIds, ...plain } = patch;
  await assertUnits(unitIds);
  const set: Record<string, unknown> = Object.fromEntries(Object.entries({ ...plain, unitIds }).filter(([, v]) => v !== undefined));
  if (notify) {
    const { emails: e, wecom, dingtalk, feishu, sms } = notify;
    if (e !== undefined) set["notify.emails"] = e;
    const robots = mergeTargets(stored?.notify ?? null, { wecom, dingtalk, feishu, sms });
    if (robots.missing) throw invalid([robots.missing]);
    for (const [k, v] of Object.entries(robots.set)) set[`notify.${k}`] = v;
  }
  return set;
}

/** The office and every leader, for the admin. */
export async function listAddressees() {
  const office = (await loadTarget(OFFICE_ID))!;
  const leaders = await Addressee.find({ kind: "leader" }).sort({ name: 1 }).lean();
  const all = [{ key: OFFICE_ID, t: office }, ...(await Promise.all(leaders.map(async (l) => ({ key: String(l._id), t: (await loadTarget(String(l._id)))! }))))];
  return all.map(({ key, t }) => presentTarget(t, key));
}

/** Changes the office (made on its first change) or a leader. */
export async function updateAddressee(id: string, input: unknown) {
  if (!ADDRESSEE_ID.test(id)) throw notFound("接收方");
  const parsed = addresseePatch.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const stored = await loadTarget(id);
  if (!stored) throw notFound("接收方");
  const set = await setOf(stored, parsed.data);
  if (id === OFFICE_ID) {
    // Made on the first change with the fields a new one needs; `notify` is set field by field after.
    await Addressee.updateOne({ _id: OFFICE_ID }, { $setOnInsert: { kind: "office", ...(set.name ? {} : { name: "整改办" }), notify: {} } }, { upsert: true });
  }
  if (Object.keys(set).length) await Addressee.updateOne({ _id: id }, { $set: set });
  return presentTarget((await loadTarget(id))!, id);
}

/** A unit's people and channels, as the office and leaders have them. */
export const unitPeoplePatch = addresseePatch.pick({ contacts: true, notify: true });

/**
 * Changes the people and channels of any target: a unit (by id; through `update`, the directory's
 * writer of units) or the office or a leader. One validation and one merge of write-only secrets.
 */
export async function updateChannels(key: string, input: unknown, update: (id: string, set: Record<string, unknown>) => Promise<unknown>) {
  if (ADDRESSEE_ID.test(key)) return updateAddressee(key, input);
  const stored = await loadTarget(key);
  if (!stored) throw notFound("单位");
  const parsed = unitPeoplePatch.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const set = await setOf(stored, parsed.data);
  if (Object.keys(set).length) await update(key, set);
  return presentTarget((await loadTarget(key))!, key);
}

/** Adds a leader. */
export async function createLeader(input: unknown) {
  const parsed = newLeader.safeParse(input);
  if (!parsed.success) throw fromZod(parsed.error);
  const id = `leader-${randomBytes(6).toString("hex")}`;
  const set = await setOf(null, parsed.data);
  await Addressee.collection.insertOne({ _id: id as never, kind: "leader", name: parsed.data.name, title: "", unitIds: [], contacts: [], notify: {}, createdAt: new Date(), updatedAt: new Date() });
  await Addressee.updateOne({ _id: id }, { $set: set });
  return presentTarget((await loadTarget(id))!, id);
}

/** Removes a leader (the office stays); notices already issued keep whom they reached. */
export async function removeLeader(id: string): Promise<void> {
  if (!/^leader-/.test(id) || !ADDRESSEE_ID.test(id)) throw notFound("领导");
  const r = await Addressee.deleteOne({ _id: id, kind: "leader" });
  if (!r.deletedCount) throw notFound("领导");
}
