/**
 * 台账 filters a user saves by name (常用筛选): the list's query string under a name, a user's own and
 * seen by no one else. Bounded: a short name, a short query, a few per user. The caller checks that
 * the query is one the 台账 understands (the list's query schema) before saving it.
 */
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { SavedFilter, isDuplicateKey } from "../db/models.ts";
import { invalid, notFound } from "../errors.ts";

export const MAX_SAVED_FILTERS = 20;
export const MAX_FILTER_NAME = 30;
export const MAX_FILTER_QUERY = 1000;

export interface Saved {
  id: string;
  name: string;
  query: string;
}

const present = (d: { _id: mongoose.Types.ObjectId; name: string; query?: string | null }): Saved => ({ id: d._id.toString(), name: d.name, query: d.query ?? "" });

/** The actor's saved filters, by name. */
export async function savedFilters(actor: Actor): Promise<Saved[]> {
  return (await SavedFilter.find({ userId: actor.id }).sort({ name: 1 }).limit(MAX_SAVED_FILTERS).lean()).map(present);
}

/** Saves a query under a name; the same name again replaces its query. */
export async function saveFilter(actor: Actor, input: { name: string; query: string }): Promise<Saved> {
  const name = input.name.trim();
  const query = input.query.replace(/^\?/, "");
  if (!name) throw invalid([{ field: "name", message: "请填写筛选名称" }]);
  if ([...name].length > MAX_FILTER_NAME) throw invalid([{ field: "name", message: `筛选名称不能超过 ${MAX_FILTER_NAME} 个字` }]);
  if (query.length > MAX_FILTER_QUERY) throw invalid([{ field: "query", message: "筛选条件太长，无法保存" }]);
  const existing = await SavedFilter.findOne({ userId: actor.id, name }).lean();
  if (existing) {
    await SavedFilter.updateOne({ _id: existing._id, userId: actor.id }, { $set: { query } });
    return present({ ...existing, query });
  }
  if ((await SavedFilter.countDocuments({ userId: actor.id })) >= MAX_SAVED_FILTERS)
    throw invalid([{ field: "name", message: `最多保存 ${MAX_SAVED_FILTERS} 个常用筛选，请先删除不用的` }]);
  try {
    return present((await SavedFilter.create({ userId: actor.id, name, query })).toObject());
  } catch (e) {
    if (isDuplicateKey(e)) throw invalid([{ field: "name", message: "已有同名的常用筛选" }]);
    throw e;
  }
}

/** Deletes one of the actor's saved filters; another user's, or none, is not found. */
export async function deleteFilter(actor: Actor, id: string): Promise<void> {
  if (!mongoose.isObjectIdOrHexString(id)) throw notFound("常用筛选");
  const r = await SavedFilter.deleteOne({ _id: new mongoose.Types.ObjectId(id), userId: actor.id });
  if (!r.deletedCount) throw notFound("常用筛选");
}
