/** One mongoose connection for the process. */
import mongoose from "mongoose";

mongoose.set("strictQuery", true);
// Query filters built from user input must never carry operators ($ne, $where...).
mongoose.set("sanitizeFilter", true);

export async function connectDb(uri: string): Promise<typeof mongoose> {
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 10_000 });
  return mongoose;
}

export async function disconnectDb(): Promise<void> {
  await mongoose.disconnect();
}

/** Builds every model's indexes; run at start so queries never go unindexed. */
export async function ensureIndexes(): Promise<void> {
  for (const model of Object.values(mongoose.models)) await model.createIndexes();
}
