/** What several areas' schemas share: a contact person, the actor of an entry or notice, and the duplicate-key error. */
import { Schema } from "mongoose";

export const contactSchema = new Schema(
  { name: String, title: String, phone: String, email: String, /** head (负责人) | liaison (联络员) | staff | leader: who a rung names (src/notices/recipients.ts). */ role: String, mobile: String, /** 飞书 open_id (ou_…): 飞书 robots @ a person only by it. */ feishuId: String },
  { _id: false },
);

export const actorSchema = new Schema(
  { id: String, name: String, role: String, unitId: { type: String, default: null } },
  { _id: false },
);

export const isDuplicateKey = (e: unknown) => (e as { code?: number } | null)?.code === 11000;
