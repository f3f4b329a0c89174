/**
 * The ledger's collections. The case history is an append-only log, one document per entry,
 * keyed `<caseId>:<seq>`: inserting entry n+1 is the commit point of a state change, and the
 * primary key makes two writers for the same version impossible on any MongoDB-compatible
 * server (no transactions, no atomic read-modify-write needed). The case document is the
 * queryable projection of its latest entry.
 */
import mongoose, { Schema, type InferSchemaType } from "mongoose";
import { CASE_KINDS, ROLES } from "../../workflows/index.ts";

const contactSchema = new Schema(
  { name: String, title: String, phone: String, email: String, /** head (负责人) | liaison (联络员) | staff | leader: who a rung names (src/notices/recipients.ts). */ role: String, mobile: String, /** 飞书 open_id (ou_…): 飞书 robots @ a person only by it. */ feishuId: String },
  { _id: false },
);

const unitSchema = new Schema(
  {
    name: { type: String, required: true, unique: true, trim: true },
    shortName: { type: String, trim: true },
    aliases: { type: [String], default: [] },
    parentId: { type: String, default: null },
    contacts: { type: [contactSchema], default: [] },
    /** Where notices go besides the in-app inbox. */
    notify: {
      type: new Schema(
        {
          emails: { type: [String], default: [] },
          webhookUrl: { type: String, default: null },
          webhookSecret: { type: String, default: null },
          // Group robots and SMS (src/notices/targets.ts); keys and secrets are write-only.
          wecom: { type: new Schema({ key: String, mobiles: [String] }, { _id: false }), default: null },
          dingtalk: { type: new Schema({ token: String, secret: String, mobiles: [String] }, { _id: false }), default: null },
          feishu: { type: new Schema({ hook: String, secret: String }, { _id: false }), default: null },
          sms: { type: new Schema({ mobiles: [String] }, { _id: false }), default: null },
        },
        { _id: false },
      ),
      default: () => ({}),
    },
    active: { type: Boolean, default: true },
  },
  { timestamps: true },
);

const userSchema = new Schema(
  {
    username: { type: String, required: true, unique: true, trim: true },
    displayName: { type: String, required: true },
    role: { type: String, required: true, enum: ROLES },
    unitId: { type: String, default: null },
    passwordHash: { type: String, required: true },
    active: { type: Boolean, default: true },
  },
  { timestamps: true },
);

const actorSchema = new Schema(
  { id: String, name: String, role: String, unitId: { type: String, default: null } },
  { _id: false },
);

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

/**
 * When the notice sweep must look at a case next (null: nothing pending), and why a rung could not
 * be timed. Written only by the sweep; the case document only by the case service.
 */
const caseScheduleSchema = new Schema(
  {
    _id: { type: String, required: true },
    nextAt: { type: Date, default: null },
    version: { type: Number, required: true },
    problem: { type: String, default: null },
    computedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: "case_schedules" },
);
caseScheduleSchema.index({ nextAt: 1, _id: 1 });

/** Where the sweep got to: cases updated after its last pass began are looked at again. */
const sweepStateSchema = new Schema({ _id: { type: String, required: true }, lastStart: { type: Date, required: true } }, { versionKey: false, collection: "sweep_state" });

/** Sequences (ledger numbers, notice numbers): one document per number taken, keyed `<name>:<n>`. */
const sequenceSchema = new Schema(
  { _id: { type: String, required: true }, name: { type: String, required: true }, n: { type: Number, required: true } },
  { versionKey: false, timestamps: { createdAt: true, updatedAt: false } },
);
sequenceSchema.index({ name: 1, n: -1 });
// A number taken for a given document (a notice) is taken once.
sequenceSchema.add({ ref: { type: String } });
sequenceSchema.index({ ref: 1 }, { unique: true, sparse: true });

/**
 * Who receives notices besides the units (src/notices/recipients.ts): the office (`office`) and each
 * leader (`leader-<hex>`), with their own channels (as a unit's `notify`) and named people.
 */
const addresseeSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, enum: ["office", "leader"], required: true },
    name: { type: String, required: true },
    title: { type: String, default: "" },
    /** A leader's units (分管单位); none: every unit. */
    unitIds: { type: [String], default: [] },
    contacts: { type: [contactSchema], default: [] },
    notify: { type: Schema.Types.Mixed, default: () => ({}) },
  },
  { timestamps: true, versionKey: false, minimize: false, collection: "addressees" },
);
addresseeSchema.index({ kind: 1 });

/** Office-entered corrections to the holiday calendar (a late 调休 notice, a local holiday). */
const holidayOverrideSchema = new Schema(
  {
    date: { type: String, required: true, unique: true },
    workday: { type: Boolean, required: true },
    note: { type: String, default: "" },
  },
  { timestamps: true },
);

/** A year whose holidays and 调休 workdays the office has entered as overrides (the shipped calendar lacks it). */
const calendarYearSchema = new Schema(
  { year: { type: Number, required: true, unique: true }, note: { type: String, default: "" } },
  { timestamps: true },
);

const noticeRuleSchema = new Schema(
  {
    _id: { type: String, required: true },
    kind: { type: String, required: true, enum: CASE_KINDS },
    level: { type: String, required: true },
    holders: { type: [String], default: undefined },
    states: { type: [String], required: true },
    triggers: { type: Schema.Types.Mixed, required: true },
    recipients: { type: [String], required: true },
    points: { type: Number, required: true },
    clause: { type: String },
    enabled: { type: Boolean, required: true },
    updatedBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false, minimize: false },
);

/** The words of a notice level (src/notices/texts.ts), edited by the office admin. */
const noticeTextSchema = new Schema(
  {
    _id: { type: String, required: true },
    title: { type: String, required: true },
    body: { type: String, required: true },
    replyDays: { type: Number, required: true },
    updatedBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false, collection: "notice_texts" },
);

/** The office's own particulars for its documents (src/notices/settings.ts): one document, `office`. */
const officeSettingsSchema = new Schema(
  {
    _id: { type: String, required: true },
    issuerMark: { type: String, required: true },
    signer: { type: String, required: true },
    contactName: { type: String, default: "" },
    contactPhone: { type: String, default: "" },
    cc: { type: String, default: "" },
    verificationTerm: { type: String, default: "现场核查" },
    updatedBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false, collection: "office_settings" },
);

/** The SMS account's approved signature and template, and its AccessKey (the secret write-only): one document, `_id: "sms"`. */
const smsSettingsSchema = new Schema(
  {
    _id: { type: String, required: true },
    signName: { type: String, default: null },
    templateCode: { type: String, default: null },
    templateText: { type: String, default: null },
    accessKeyId: { type: String, default: null },
    accessKeySecret: { type: String, default: null },
    updatedBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false, collection: "sms_settings" },
);

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

/** The cases (or notices) behind one figure of one unit in an issued bulletin, as issued: `<bulletinId>:<unitId>:<figure>`. */
const bulletinTraceSchema = new Schema(
  { _id: { type: String, required: true }, bulletinId: { type: String, required: true }, items: { type: [Schema.Types.Mixed], default: [] } },
  { versionKey: false, minimize: false, collection: "bulletin_traces" },
);
bulletinTraceSchema.index({ bulletinId: 1 });

/**
 * One channel of one notice (`<noticeId>:<channel>`): its own document, written only by that
 * channel's delivery job, so channels finishing together never overwrite each other.
 */
const noticeDeliverySchema = new Schema(
  {
    _id: { type: String, required: true },
    noticeId: { type: String, required: true },
    channel: { type: String, enum: ["inbox", "email", "webhook", "wecom", "dingtalk", "feishu", "sms"], required: true },
    unitId: { type: String, default: null },
    status: { type: String, enum: ["pending", "sent", "failed", "skipped", "cancelled"], required: true },
    attempts: { type: Number, default: 0 },
    lastError: { type: String, default: null },
    target: { type: String, default: null },
    sentAt: { type: Date, default: null },
    cancelReason: { type: String, default: null },
    /** Held back by the robot's rate limit until then (the job waits, delayed; it does not fail). */
    waitUntil: { type: Date, default: null },
    /** An SMS handed to the provider and not yet answered: a retry finding it must not send again (src/notices/sms.ts). */
    dispatchedAt: { type: Date, default: null },
    /** A robot message being sent by one worker until then: a second worker taking the same job (a lost lock) waits instead of sending it again. */
    sendingUntil: { type: Date, default: null },
    /** Whose channel: null for the unit's own, else an addressee's id (`office`, `leader-…`). */
    recipient: { type: String, default: null },
    /** The mobiles resolved at issue: @-mentioned on a robot, texted by SMS (else the target's own). */
    mobiles: { type: [String], default: undefined },
    /** The people a 飞书 robot names: @ by open_id where known, else the name written plainly. */
    feishuAt: { type: [new Schema({ id: { type: String, default: null }, name: String }, { _id: false })], default: undefined },
  },
  { timestamps: true, versionKey: false, collection: "notice_deliveries" },
);
// Pending deliveries to queue again, and the pending and failed ones per channel that metrics count.
noticeDeliverySchema.index({ status: 1, channel: 1 });
noticeDeliverySchema.index({ noticeId: 1 });
noticeDeliverySchema.index({ unitId: 1, channel: 1, status: 1 });

/**
 * A morning digest (src/notices/digest.ts): what one recipient (a unit, the office, a leader) had waiting
 * on one working day, as listed then. `digest-<day>-<recipient>`: one per recipient and day, however many
 * workers and passes issue it. Its channels are NoticeDelivery documents `<digestId>:<channel>`.
 */
const digestSchema = new Schema(
  {
    _id: { type: String, required: true },
    day: { type: String, required: true },
    recipient: { type: new Schema({ key: String, kind: String, name: String, unitId: { type: String, default: null } }, { _id: false }), required: true },
    sections: { type: [Schema.Types.Mixed], default: [] },
    /** Nothing awaited the recipient: recorded, not sent. */
    empty: { type: Boolean, default: false },
    /** Why nothing was sent though something awaited (no channel configured), or null. */
    note: { type: String, default: null },
    issuedAt: { type: Date, required: true },
  },
  { versionKey: false, minimize: false, collection: "digests" },
);
digestSchema.index({ day: 1, "recipient.key": 1 }, { unique: true });
/** A unit's (or a leader's) own digests, newest first (the 晨报 list). */
digestSchema.index({ "recipient.kind": 1, "recipient.unitId": 1, day: -1 });

/**
 * A notice: keyed `<caseId>-<ruleId>-r<revision>` (manual ones: `<caseId>-manual-<uuid>`), so one
 * per key. Written once when issued (and numbered right after); delivery state lives in
 * NoticeDelivery, receipts are the addressee's alone.
 */
const noticeSchema = new Schema(
  {
    _id: { type: String, required: true },
    caseId: { type: String, required: true },
    kind: { type: String, required: true },
    ledgerNumber: { type: String, required: true },
    caseTitle: { type: String, required: true },
    ruleId: { type: String, default: null },
    level: { type: String, required: true },
    /** How severe the level is (LEVEL_RANK), for the most-severe-first order. */
    severity: { type: Number, default: 0 },
    revision: { type: Number, required: true },
    unitId: { type: String, default: null },
    /** Who held the case when the notice was issued ("unit" or "office"): only a unit's time scores. */
    holder: { type: String, default: null },
    /** The case's state then. */
    state: { type: String, default: null },
    /**
     * Whose inbox shows it: the lead unit's id when the unit held the case and the rule names the unit;
     * "office" when the office held it and the rule names the office (the staff's inbox).
     */
    inbox: { type: String, default: null },
    recipients: { type: [String], default: [] },
    /** Whom the rung's recipients resolved to at issue, and who had no channel (未配置接收渠道): src/notices/recipients.ts. */
    reach: { type: [Schema.Types.Mixed], default: undefined },
    /** A rung that fell due in the same pass as a higher one: recorded, never delivered, never scored. */
    supersededBy: { type: String, default: null },
    manual: { type: Boolean, default: false },
    /** The event it tells of (REJECT: 退回), for a notice that is no rung of the ladder; null otherwise. */
    event: { type: String, default: null },
    number: { type: String, default: null },
    deadline: { type: String, default: null },
    requirement: { type: String, default: "" },
    /**
     * The document as issued: the level's text filled for this case, and the office's particulars then,
     * so a notice reads the same however texts and settings change later.
     */
    document: { type: Schema.Types.Mixed, default: null },
    points: { type: Number, default: 0 },
    dueAt: { type: Date, required: true },
    issuedAt: { type: Date, required: true },
    issuedBy: { type: actorSchema, required: true },
    readAt: { type: Date, default: null },
    readBy: { type: String, default: null },
    ackAt: { type: Date, default: null },
    ackBy: { type: String, default: null },
  },
  { timestamps: true, versionKey: false },
);
noticeSchema.index({ caseId: 1, revision: 1 });
noticeSchema.index({ unitId: 1, issuedAt: 1 });
// A unit's inbox, newest first.
noticeSchema.index({ inbox: 1, issuedAt: 1, _id: 1 });
noticeSchema.index({ issuedAt: 1, _id: 1 });
// Supervision notices a crash left without their number (the sweep finishes them).
noticeSchema.index({ level: 1, number: 1 });
// The 通知 page: one level, and most severe first (of what was sent: superseded rungs are left out; or a unit's inbox).
noticeSchema.index({ level: 1, issuedAt: 1, _id: 1 });
noticeSchema.index({ supersededBy: 1, severity: 1, issuedAt: 1, _id: 1 });
noticeSchema.index({ inbox: 1, severity: 1, issuedAt: 1, _id: 1 });

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

/**
 * Sign-in sessions, written by connect-mongo (src/http/auth.ts). The model exists for their indexes:
 * the server deletes a session once it expires (TTL), and a user's sessions are found to end them.
 */
const sessionSchema = new Schema(
  { _id: { type: String, required: true }, expires: { type: Date }, session: { type: Schema.Types.Mixed } },
  { versionKey: false, collection: "sessions", strict: false },
);
sessionSchema.index({ expires: 1 }, { expireAfterSeconds: 0 });
sessionSchema.index({ "session.userId": 1 });

/** A 台账 filter a user saved by name (src/cases/saved-filters.ts): the list's query string, theirs alone. */
const savedFilterSchema = new Schema(
  { userId: { type: String, required: true }, name: { type: String, required: true }, query: { type: String, default: "" } },
  { timestamps: true, versionKey: false, collection: "saved_filters" },
);
savedFilterSchema.index({ userId: 1, name: 1 }, { unique: true });

export const Session = mongoose.model("Session", sessionSchema);
export const LedgerCheckpoint = mongoose.model("LedgerCheckpoint", ledgerCheckpointSchema);
export const SavedFilter = mongoose.model("SavedFilter", savedFilterSchema);
export const Unit = mongoose.model("Unit", unitSchema);
export const User = mongoose.model("User", userSchema);
export const Case = mongoose.model("Case", caseSchema);
export const CaseSchedule = mongoose.model("CaseSchedule", caseScheduleSchema);
export const SweepState = mongoose.model("SweepState", sweepStateSchema);
export const CaseHistory = mongoose.model("CaseHistory", historyEntrySchema);
export const Sequence = mongoose.model("Sequence", sequenceSchema);
export const HolidayOverride = mongoose.model("HolidayOverride", holidayOverrideSchema);
export const CalendarYear = mongoose.model("CalendarYear", calendarYearSchema);
export const NoticeRuleModel = mongoose.model("NoticeRule", noticeRuleSchema);
export const Notice = mongoose.model("Notice", noticeSchema);
export const NoticeDelivery = mongoose.model("NoticeDelivery", noticeDeliverySchema);
export const Digest = mongoose.model("Digest", digestSchema);
export const Addressee = mongoose.model("Addressee", addresseeSchema);
export const NoticeTextModel = mongoose.model("NoticeText", noticeTextSchema);
export const OfficeSettingsModel = mongoose.model("OfficeSettings", officeSettingsSchema);
export const SmsSettingsModel = mongoose.model("SmsSettings", smsSettingsSchema);
export const BulletinIssue = mongoose.model("BulletinIssue", bulletinIssueSchema);
export const BulletinTrace = mongoose.model("BulletinTrace", bulletinTraceSchema);
export type NoticeDeliveryDoc = InferSchemaType<typeof noticeDeliverySchema>;
export type NoticeDoc = InferSchemaType<typeof noticeSchema>;

export type UnitDoc = InferSchemaType<typeof unitSchema> & { _id: mongoose.Types.ObjectId };
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: mongoose.Types.ObjectId };
export type CaseDoc = InferSchemaType<typeof caseSchema> & { _id: mongoose.Types.ObjectId };
export type HistoryEntry = InferSchemaType<typeof historyEntrySchema>;

export const isDuplicateKey = (e: unknown) => (e as { code?: number } | null)?.code === 11000;

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

/**
 * How many cases there are per facet (a unit, or "*" for all; kind; state): the 台账's exact totals without
 * recounting the ledger. Kept by the case service, rebuilt and checked from the cases (src/cases/counts.ts).
 */
const caseCountSchema = new Schema(
  { _id: { type: String, required: true }, unit: { type: String, required: true }, kind: { type: String, required: true }, state: { type: String, required: true }, n: { type: Number, required: true } },
  { versionKey: false, collection: "case_counts" },
);
caseCountSchema.index({ unit: 1, kind: 1, state: 1 });
export const CaseCount = mongoose.model("CaseCount", caseCountSchema);
