/**
 * An uploaded feedback list kept between its preview and the confirmation (GridFS bucket "imports"),
 * so that confirming imports exactly the file that was previewed, on whichever web process answers.
 * Only the person who uploaded it may use it; it is removed once imported, and after a day anyway.
 */
import { Readable } from "node:stream";
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { notFound } from "../errors.ts";

const KEEP_MS = 24 * 3600_000;
const bucket = () => new mongoose.mongo.GridFSBucket(mongoose.connection.db!, { bucketName: "imports" });
const gone = () => notFound("待导入的文件（可能已导入或已过期，请重新上传）");

export async function stashUpload(file: { buffer: Buffer; originalname: string }, actor: Actor, now: Date): Promise<string> {
  const b = bucket();
  // Stale uploads of anyone go first (previewed and never confirmed).
  for (const f of await b.find({ uploadDate: mongoose.trusted({ $lt: new Date(now.getTime() - KEEP_MS) }) }).limit(20).toArray()) await b.delete(f._id).catch(() => undefined);
  const id = new mongoose.Types.ObjectId();
  await new Promise<void>((resolve, reject) =>
    Readable.from([file.buffer])
      .pipe(b.openUploadStreamWithId(id, file.originalname, { metadata: { by: actor.id } }))
      .on("finish", () => resolve())
      .on("error", reject),
  );
  return id.toString();
}

/** The stashed file, if this actor uploaded it. */
export async function openStash(id: string, actor: Actor): Promise<{ buffer: Buffer; name: string }> {
  if (!mongoose.isObjectIdOrHexString(id)) throw gone();
  const _id = new mongoose.Types.ObjectId(id);
  const [info] = await bucket().find({ _id }).toArray();
  if (!info || (info.metadata as { by?: string } | undefined)?.by !== actor.id) throw gone();
  const chunks: Buffer[] = [];
  for await (const c of bucket().openDownloadStream(_id)) chunks.push(c as Buffer);
  return { buffer: Buffer.concat(chunks), name: info.filename };
}

export async function dropStash(id: string): Promise<void> {
  if (mongoose.isObjectIdOrHexString(id)) await bucket().delete(new mongoose.Types.ObjectId(id)).catch(() => undefined);
}
