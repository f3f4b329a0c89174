import mongoose, { Schema } from "mongoose";
import { isDuplicateKey } from "./shared.ts";

/** Sequences (ledger numbers, notice numbers): one document per number taken, keyed `<name>:<n>`. */
const sequenceSchema = new Schema(
  { _id: { type: String, required: true }, name: { type: String, required: true }, n: { type: Number, required: true } },
  { versionKey: false, timestamps: { createdAt: true, updatedAt: false } },
);
sequenceSchema.index({ name: 1, n: -1 });
// A number taken for a given document (a notice) is taken once.
sequenceSchema.add({ ref: { type: String } });
sequenceSchema.index({ ref: 1 }, { unique: true, sparse: true });
export const Sequence = mongoose.model("Sequence", sequenceSchema);

/**
 * Takes the next number of a named sequence: unique and increasing under concurrent callers,
 * because each number is claimed by inserting its own document (the primary key decides).
 * With `ref`, the document it numbers gets one number however often this is called for it.
 */
export async function nextSeq(name: string, ref?: string): Promise<number> {
  for (;;) {
    if (ref) {
      const taken = await seqTakenQuery(ref).lean();
      if (taken) return taken.n;
    }
    const last = await lastSeqQuery(name).lean();
    const n = (last?.n ?? 0) + 1;
    try {
      await Sequence.create({ _id: `${name}:${n}`, name, n, ...(ref ? { ref } : {}) });
      return n;
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
    }
  }
}

/** The last number taken of a sequence (not yet run). */
export const lastSeqQuery = (name: string) => Sequence.findOne({ name }, { n: 1 }).sort({ n: -1 });

/** The number taken for a document, if any (not yet run). */
export const seqTakenQuery = (ref: string) => Sequence.findOne({ ref }, { n: 1 });
