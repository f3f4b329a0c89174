import mongoose, { Schema } from "mongoose";

/**
 * Signed checkpoints of the ledger's Merkle tree, kept for serving (GET /api/ledger/checkpoints): the
 * copy that counts is the one appended outside the database (LEDGER_DIR). _id: the checkpoint's number.
 */
const ledgerCheckpointSchema = new Schema(
  {
    _id: { type: Number, required: true },
    size: { type: Number, required: true },
    /** base64, as in the note. */
    root: { type: String, required: true },
    /** The signed note, as written. */
    note: { type: String, required: true },
    signedAt: { type: Date, required: true },
    /** An RFC 3161 timestamp token over the note (DER, base64), when a TSA is configured. */
    timestamp: { type: String, default: null },
  },
  { versionKey: false, collection: "ledger_checkpoints" },
);
ledgerCheckpointSchema.index({ size: 1 });
export const LedgerCheckpoint = mongoose.model("LedgerCheckpoint", ledgerCheckpointSchema);
