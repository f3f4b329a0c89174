/**
 * The case ledger's collections. The case history is an append-only log, one document per entry,
 * keyed `<caseId>:<seq>`: inserting entry n+1 is the commit point of a state change, and the
 * primary key makes two writers for the same version impossible on any MongoDB-compatible
 * server (no transactions, no atomic read-modify-write needed). The case document is the
 * queryable projection of its latest entry.
 */
import mongoose, { Schema, type InferSchemaType } from "mongoose";
import { CASE_KINDS } from "../../../workflows/index.ts";
import { actorSchema } from "./shared.ts";

const historyEntrySchema = new Schema(
  {
    _id: { type: String, required: true },
    caseId: { type: String, required: true },
    seq: { type: Number, required: true },
    type: { type: String, required: true },
    actor: { type: actorSchema, required: true },
    at: { type: Date, required: true },
    from: { type: String, default: null },
    to: { type: String, required: true },
    payload: { type: Schema.Types.Mixed, default: {} },
    deadlineRevision: { type: Number, required: true },
    idempotencyKey: { type: String },
    requestHash: { type: String },
    prevHash: { type: String, required: true },
    hash: { type: String, required: true },
    /** The machine snapshot after this entry: the state the case is in from here on. */
    snapshot: { type: Schema.Types.Mixed, required: true },
    /**
     * The entry's position in the ledger's Merkle tree (src/ledger/log.ts), given once by the sequencer
     * after the entry is committed: null until then, -1 for a registration's entry whose case never came.
     */
    leaf: { type: Number, default: null },
    /** The RFC 6962 leaf hash of the entry, as sequenced (hex). */
    leafHash: { type: String, default: null },
  },
  { minimize: false, versionKey: false, collection: "case_history" },
);
historyEntrySchema.index({ caseId: 1, seq: 1 });
// One entry per position; the sequencer also finds what it has not numbered yet by leaf (null first).
historyEntrySchema.index({ leaf: 1 }, { unique: true, partialFilterExpression: { leaf: { $gte: 0 } } });
historyEntrySchema.index({ leaf: 1, at: 1, _id: 1 });
historyEntrySchema.index({ caseId: 1, idempotencyKey: 1 }, { sparse: true });
export const CaseHistory = mongoose.model("CaseHistory", historyEntrySchema);
export type HistoryEntry = InferSchemaType<typeof historyEntrySchema>;

const caseSchema = new Schema(
  {
    kind: { type: String, required: true, enum: CASE_KINDS },
    ledgerNumber: { type: String, required: true, unique: true },
    title: { type: String, required: true },
    description: { type: String, default: "" },
    category: { type: String, default: null },
    source: { type: String, default: null },
    round: { type: String, default: null },
    // inspection
    goal: { type: String, default: null },
    measures: { type: String, default: null },
    immediate: { type: Boolean, default: false },
    longTerm: { type: Boolean, default: false },
    plannedDeadline: { type: String, default: null },
    /** The list's (or the registration's) planned assignment: units and deadline proposed, applied by 按清单交办 or the 交办 form's defaults. */
    plannedLeadUnitId: { type: String, default: null },
    plannedCoUnitIds: { type: [String], default: [] },
    // complaint
    channel: { type: String, default: null },
    complainant: { type: new Schema({ name: String, phone: String, address: String }, { _id: false }), default: null },
    receivedOn: { type: String, default: null },
    // projection of the machine snapshot, for queries and indexes
    state: { type: String, required: true },
    leadUnitId: { type: String, default: null },
    coUnitIds: { type: [String], default: [] },
    /** The lead and co-units together: a unit's view and the unit filter, one field an index with each sort key serves. */
    unitIds: { type: [String], default: [] },
    /** The search's index: the bigrams of the title, ledger number and description (src/cases/grams.ts), written by the case service. */
    grams: { type: [String], default: [] },
    deadline: { type: String, default: null },
    /** The deadline, or "~" when none: sorting by it puts cases without a deadline last. */
    deadlineSort: { type: String, default: "~" },
    deadlineRevision: { type: Number, default: 0 },
    progressPercent: { type: Number, default: 0 },
    /** When the case falls behind schedule (序时进度) at its reported progress. */
    behindFrom: { type: Date, default: null },
    /** When the case entered its current state, and the event that brought it there (the work lists: how long it waits, 申请退回, 公示异议). */
    stateSince: { type: Date, default: null },
    stateEvent: { type: String, default: null },
    /** Since when the case's oldest 批示 has awaited the office's 落实 (docs/domain.md#instructions); null when none does. */
    instructionSince: { type: Date, default: null },
    /** The leaders who wrote a 批示 on the case (their home lists them); absent on a case without any. */
    instructedBy: { type: [String], default: undefined },
    // the snapshot itself
    stateValue: { type: Schema.Types.Mixed, required: true },
    context: { type: Schema.Types.Mixed, required: true },
    version: { type: Number, required: true },
    historyHead: { type: String, required: true },
    createdBy: { type: String, required: true },
  },
  { timestamps: true, minimize: false, versionKey: false },
);
// A unit's view and the unit filter (unitIds), and the per-unit figures (leadUnitId).
caseSchema.index({ leadUnitId: 1, state: 1 });
caseSchema.index({ unitIds: 1, state: 1 });
// A unit's view in each of the 台账's orders, walked to a page instead of past the other units' cases.
caseSchema.index({ unitIds: 1, updatedAt: 1, _id: 1 });
caseSchema.index({ unitIds: 1, deadlineSort: 1, _id: 1 });
caseSchema.index({ unitIds: 1, deadline: 1, _id: 1 });
caseSchema.index({ unitIds: 1, createdAt: 1, _id: 1 });
caseSchema.index({ unitIds: 1, ledgerNumber: 1 });
caseSchema.index({ unitIds: 1, stateSince: 1, _id: 1 });
// The 台账 search: the cases holding all of a search's bigrams.
caseSchema.index({ grams: 1 });
// Filters by state and kind, overdue (state, deadline), behind schedule.
caseSchema.index({ state: 1, deadline: 1 });
caseSchema.index({ kind: 1, state: 1 });
caseSchema.index({ behindFrom: 1 });
// The work lists (src/cases/worklists.ts): a group's states, longest waiting first.
caseSchema.index({ state: 1, stateSince: 1, _id: 1 });
caseSchema.index({ stateSince: 1, _id: 1 });
// 待落实批示: a range from the epoch on, walked in order (null sorts first and is outside the range).
caseSchema.index({ instructionSince: 1, _id: 1 });
caseSchema.index({ instructedBy: 1, updatedAt: -1 }, { sparse: true });
// The list's sorts, each walked in order to a page; updatedAt also finds what changed since the sweep's last pass.
caseSchema.index({ updatedAt: 1, _id: 1 });
caseSchema.index({ deadline: 1, _id: 1 });
caseSchema.index({ deadlineSort: 1, _id: 1 });
caseSchema.index({ createdAt: 1, _id: 1 });
export const Case = mongoose.model("Case", caseSchema);
export type CaseDoc = InferSchemaType<typeof caseSchema> & { _id: mongoose.Types.ObjectId };

/**
 * How many cases there are per facet (a unit, or "*" for all; kind; state; plainly or by category or round): the 台账's exact totals without
 * recounting the ledger. Kept by the case service, rebuilt and checked from the cases (src/cases/counts.ts).
 */
const caseCountSchema = new Schema(
  { _id: { type: String, required: true }, unit: { type: String, required: true }, kind: { type: String, required: true }, state: { type: String, required: true }, facet: { type: String, default: "" }, n: { type: Number, required: true } },
  { versionKey: false, collection: "case_counts" },
);
caseCountSchema.index({ unit: 1, facet: 1, kind: 1, state: 1 });
export const CaseCount = mongoose.model("CaseCount", caseCountSchema);

/** A 台账 filter a user saved by name (src/cases/saved-filters.ts): the list's query string, theirs alone. */
const savedFilterSchema = new Schema(
  { userId: { type: String, required: true }, name: { type: String, required: true }, query: { type: String, default: "" } },
  { timestamps: true, versionKey: false, collection: "saved_filters" },
);
savedFilterSchema.index({ userId: 1, name: 1 }, { unique: true });
export const SavedFilter = mongoose.model("SavedFilter", savedFilterSchema);
