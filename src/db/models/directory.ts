/** The directory: units (their contacts and where their notices go) and users. Written by src/directory.ts. */
import mongoose, { Schema, type InferSchemaType } from "mongoose";
import { ROLES } from "../../../workflows/index.ts";
import { contactSchema } from "./shared.ts";

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
export const Unit = mongoose.model("Unit", unitSchema);
export type UnitDoc = InferSchemaType<typeof unitSchema> & { _id: mongoose.Types.ObjectId };

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
export const User = mongoose.model("User", userSchema);
export type UserDoc = InferSchemaType<typeof userSchema> & { _id: mongoose.Types.ObjectId };
