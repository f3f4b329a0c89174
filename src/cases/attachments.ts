/**
 * Evidence files (佐证材料) in MongoDB GridFS, each tied to a case. The type is decided by the
 * file's content, not its name; only photos, PDFs and Office documents are kept. A file is
 * readable by whoever may see its case.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { fileTypeFromBuffer } from "file-type";
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { AppError, invalid, notFound } from "../errors.ts";

export const ALLOWED_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  png: "image/png",
  pdf: "application/pdf",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

export interface AttachmentInfo {
  id: string;
  name: string;
  size: number;
  type: string;
  sha256: string;
}

interface Meta {
  caseId: string;
  uploadedBy: string;
  uploaderUnitId: string | null;
  type: string;
  sha256: string;
}

const bucket = () => new mongoose.mongo.GridFSBucket(mongoose.connection.db!, { bucketName: "attachments" });

/** A file name safe to store and send back: no path, no control characters, bounded length. */
export function cleanName(name: string, ext: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const base = (name.split(/[\\/]/).pop() ?? "").replace(/[\u0000-\u001f\u007f"<>|:*?]/g, "").trim().slice(0, 120);
  const stem = base.replace(/\.[^.]*$/, "") || "附件";
  return `${stem}.${ext}`;
}

/** Call after access to the case was checked (getCase). */
export async function storeAttachment(caseId: string, file: { buffer: Buffer; originalname: string }, actor: Actor): Promise<AttachmentInfo> {
  if (actor.role === "leader") throw new AppError(403, "forbidden", "分管领导只能查看，不能上传");
  const detected = await fileTypeFromBuffer(file.buffer);
  const type = detected && ALLOWED_TYPES[detected.ext];
  if (!detected || !type)
    throw new AppError(422, "unsupported_file_type", "只能上传 jpg、png、pdf、docx、xlsx 格式的文件（按文件内容识别，不看扩展名）", {
      detected: detected?.mime ?? null,
    });
  const sha256 = createHash("sha256").update(file.buffer).digest("hex");
  const name = cleanName(file.originalname, detected.ext);
  const metadata: Meta = { caseId, uploadedBy: actor.id, uploaderUnitId: actor.unitId ?? null, type, sha256 };
  const upload = bucket().openUploadStream(name, { metadata });
  await new Promise<void>((resolve, reject) => {
    Readable.from([file.buffer]).pipe(upload).on("finish", () => resolve()).on("error", reject);
  });
  return { id: upload.id.toString(), name, size: file.buffer.length, type, sha256 };
}

/** Removes files stored for an action that was then refused (the case never cited them). */
export async function removeAttachments(ids: string[]): Promise<void> {
  await Promise.all(ids.map((id) => bucket().delete(new mongoose.Types.ObjectId(id)).catch(() => undefined)));
}

interface FileDoc {
  _id: mongoose.Types.ObjectId;
  filename: string;
  length: number;
  metadata: Meta;
}

async function fileDoc(id: string): Promise<FileDoc | null> {
  if (!mongoose.isObjectIdOrHexString(id)) return null;
  return (await bucket().find({ _id: new mongoose.Types.ObjectId(id) }).limit(1).toArray())[0] as unknown as FileDoc | null;
}

/** The file and a stream of it, after `mayReadCase(caseId)` confirmed the reader may see its case. */
export async function openAttachment(id: string, mayReadCase: (caseId: string) => Promise<unknown>) {
  const doc = await fileDoc(id);
  if (!doc) throw notFound("附件");
  await mayReadCase(doc.metadata.caseId).catch(() => {
    throw notFound("附件");
  });
  return { info: { id, name: doc.filename, size: doc.length, type: doc.metadata.type, sha256: doc.metadata.sha256 }, stream: bucket().openDownloadStream(doc._id) };
}

/** Attachments named in an event must be files of that very case. */
export async function assertAttachments(caseId: string, ids: string[], field: string): Promise<void> {
  if (!ids.length) return;
  const docs = await Promise.all(ids.map(fileDoc));
  const bad = ids.filter((_, i) => docs[i]?.metadata.caseId !== caseId);
  if (bad.length) throw invalid([{ field, message: `附件不存在或不属于本案件：${bad.join("、")}` }], "所附佐证材料不存在或不属于本案件");
}

export async function listAttachments(caseId: string): Promise<AttachmentInfo[]> {
  const docs = (await bucket().find({ "metadata.caseId": caseId }).sort({ uploadDate: 1 }).toArray()) as unknown as FileDoc[];
  return docs.map((d) => ({ id: d._id.toString(), name: d.filename, size: d.length, type: d.metadata.type, sha256: d.metadata.sha256 }));
}
