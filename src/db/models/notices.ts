/** Notices as issued, their deliveries per channel, the morning digests, and who receives them besides the units. */
import mongoose, { Schema, type InferSchemaType } from "mongoose";
import { actorSchema, contactSchema } from "./shared.ts";

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
export const Notice = mongoose.model("Notice", noticeSchema);
export type NoticeDoc = InferSchemaType<typeof noticeSchema>;

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
export const NoticeDelivery = mongoose.model("NoticeDelivery", noticeDeliverySchema);
export type NoticeDeliveryDoc = InferSchemaType<typeof noticeDeliverySchema>;

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
export const Digest = mongoose.model("Digest", digestSchema);

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
export const Addressee = mongoose.model("Addressee", addresseeSchema);
