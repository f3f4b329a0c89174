/**
 * The case history in the database: appending entries (one, or many in order), reading a case's chain,
 * and the entry an idempotency key already made, replayed instead of applied again. The chain itself
 * (sealing, hashing, verifying) is history.ts.
 */
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { CaseHistory, type CaseDoc } from "../db/models.ts";
import { AppError } from "../errors.ts";
import type { ChainEntry } from "./history.ts";
import type { Applied } from "./service.ts";

/**
 * A history entry as stored: cast and defaulted as create() would, without building a mongoose
 * document (most of the CPU of an insert). Undefined values inside mixed fields are left out, as
 * create() leaves them out (the entry's hash does not cover them).
 */
export const entryDocument = (entry: ChainEntry) => CaseHistory.applyDefaults(CaseHistory.castObject(entry));
export const insertEntry = (entry: ChainEntry) => CaseHistory.collection.insertOne(entryDocument(entry), { ignoreUndefined: true });

/** How many documents of an ordered bulk insert went in before it failed; null when the error does not say. */
export function insertedBefore(error: unknown): number | null {
  return error instanceof mongoose.mongo.MongoBulkWriteError ? error.insertedCount : null;
}

/** A case's history entries, oldest first (not yet run). */
export const historyQuery = (caseId: string) => CaseHistory.find({ caseId }).sort({ seq: 1 });

/** The entry an actor's command with this idempotency key made, if any (not yet run). */
export const entryByKeyQuery = (caseId: string, key: string, actorId: string) => CaseHistory.findOne({ caseId, idempotencyKey: key, "actor.id": actorId });

/** The entry this actor's command with this key made, if any. */
export function findByKey(caseId: string, key: string, actor: Actor): Promise<ChainEntry | null> {
  return entryByKeyQuery(caseId, key, actor.id).lean<ChainEntry>();
}

/** The first result of a command sent again with its key; the same key on a different request is refused. */
export function replay(doc: CaseDoc, prior: ChainEntry, requestHash: string): Applied {
  if (prior.requestHash !== requestHash)
    throw new AppError(422, "idempotency_key_reused", "该幂等键已用于另一个不同的操作，请使用新的键", { seq: prior.seq });
  return { case: doc, entry: prior, replayed: true };
}
