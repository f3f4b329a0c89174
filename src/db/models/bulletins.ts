import mongoose, { Schema } from "mongoose";

/**
 * Issued monthly bulletins (src/notices/bulletins.ts): the 通报 of a month as it stood when issued
 * (`snapshot`, every unit's row, the totals and the paragraph), frozen. `slot` is unique: a month's
 * first issue and each issue's one correction (`corrects:<id>`) can each be made once, however many
 * offices press 发布 at the same moment.
 */
const bulletinIssueSchema = new Schema(
  {
    _id: { type: String, required: true },
    month: { type: String, required: true },
    slot: { type: String, required: true },
    /** The year of issue: numbers 第N期 run per year of issue. */
    year: { type: String, required: true },
    /** Claimed in `sequences` as `bulletin-<year>:<n>` for this issue; null only until claimed. */
    number: { type: Number, default: null },
    issuedOn: { type: String, required: true },
    issuedAt: { type: Date, required: true },
    issuer: { type: String, required: true },
    signer: { type: String, required: true },
    issuedBy: { type: String, required: true },
    corrects: { type: String, default: null },
    note: { type: String, default: "" },
    snapshot: { type: Schema.Types.Mixed, required: true },
  },
  { versionKey: false, minimize: false, collection: "bulletins" },
);
bulletinIssueSchema.index({ slot: 1 }, { unique: true });
bulletinIssueSchema.index({ month: 1, issuedAt: 1 });
bulletinIssueSchema.index({ year: 1, number: 1 });
export const BulletinIssue = mongoose.model("BulletinIssue", bulletinIssueSchema);

/** The cases (or notices) behind one figure of one unit in an issued bulletin, as issued: `<bulletinId>:<unitId>:<figure>`. */
const bulletinTraceSchema = new Schema(
  { _id: { type: String, required: true }, bulletinId: { type: String, required: true }, items: { type: [Schema.Types.Mixed], default: [] } },
  { versionKey: false, minimize: false, collection: "bulletin_traces" },
);
bulletinTraceSchema.index({ bulletinId: 1 });
export const BulletinTrace = mongoose.model("BulletinTrace", bulletinTraceSchema);
