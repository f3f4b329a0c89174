/** What the office sets for its notices: the ladder's rules, each level's words, the office's particulars. */
import mongoose, { Schema } from "mongoose";
import { CASE_KINDS } from "../../../workflows/index.ts";

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
export const NoticeRuleModel = mongoose.model("NoticeRule", noticeRuleSchema);

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
export const NoticeTextModel = mongoose.model("NoticeText", noticeTextSchema);

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
export const OfficeSettingsModel = mongoose.model("OfficeSettings", officeSettingsSchema);

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
export const SmsSettingsModel = mongoose.model("SmsSettings", smsSettingsSchema);
