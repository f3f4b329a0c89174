import mongoose, { Schema } from "mongoose";

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
export const Session = mongoose.model("Session", sessionSchema);
