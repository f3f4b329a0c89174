/**
 * The backup archive format: a gzip'd tar holding `manifest.json` first, then one `<collection>.ejson`
 * per collection, one canonical Extended JSON document per line.
 *
 * Why this format: tar + gzip + JSON lines can be opened anywhere (`tar xzf`, `zcat | head`) without
 * MongoDB's tools, stream both ways with bounded memory, and canonical EJSON keeps every BSON type
 * (ObjectId, Date, Int32 against Double, Binary for the GridFS chunks), so a restored document is the
 * stored one. The manifest comes first so a restore knows what to expect before it writes anything.
 * tar-stream writes and reads the tar from Node, so the image needs no tar binary.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import mongoose from "mongoose";
import { extract, pack } from "tar-stream";
import { canonicalJson } from "../cases/history.ts";

export const FORMAT = "rectiflow-backup/1";
export const MANIFEST = "manifest.json";

const { EJSON } = mongoose.mongo.BSON;
type Doc = mongoose.mongo.Document;
type Sort = Record<string, 1>;

/** Evidence files live in GridFS (bucket "attachments", src/cases/attachments.ts). */
export const FILES = "attachments.files";
export const CHUNKS = "attachments.chunks";
/** GridFS's own index: a file's chunks in order, so its bytes are hashed in one pass. */
export const CHUNK_ORDER = { files_id: 1, n: 1 } as const;
export const BY_ID = { _id: 1 } as const;

/** An index as listIndexes describes it, less the fields the server fills in itself. */
export type IndexSpec = { key: Record<string, unknown>; name: string } & Record<string, unknown>;

export interface CollectionManifest {
  name: string;
  file: string;
  count: number;
  /** SHA-256 over the canonical form of each document, one per line, in `order`. */
  sha256: string;
  order: Sort;
  indexes: IndexSpec[];
}

export interface AttachmentManifest {
  id: string;
  filename: string;
  length: number;
  /** Of the file's bytes (its chunks in order). */
  sha256: string;
}

export interface Manifest {
  format: typeof FORMAT;
  app: { name: string; version: string };
  database: string;
  startedAt: string;
  finishedAt: string;
  /** How the copy was made consistent without transactions, and what it left out (see backup.ts). */
  consistency: string;
  skipped: string[];
  collections: CollectionManifest[];
  attachments: AttachmentManifest[];
  /** What the backup found wrong in the database (copied as it was). */
  warnings: string[];
}

/** The document as it is kept in the archive (types preserved). */
export const toLine = (doc: Doc) => `${EJSON.stringify(doc, { relaxed: false })}\n`;
export const fromLine = (line: string): Doc => EJSON.parse(line, { relaxed: false }) as Doc;

/**
 * Count and SHA-256 of a sequence of documents. The canonical form sorts keys, so a server that
 * stores fields in another order (MongoDB puts _id first) still yields the same checksum.
 */
export class Digest {
  count = 0;
  private readonly hash = createHash("sha256");
  add(doc: Doc): void {
    this.hash.update(canonicalJson(EJSON.serialize(doc, { relaxed: false })));
    this.hash.update("\n");
    this.count++;
  }
  get sha256(): string {
    return this.hash.copy().digest("hex");
  }
}

export interface FileBytes {
  id: string;
  length: number;
  sha256: string;
  /** Chunks numbered 0, 1, 2… without a hole. */
  contiguous: boolean;
}

/** The bytes of GridFS files from their chunks, read in CHUNK_ORDER. */
export class ChunkHasher {
  private file: { id: string; hash: ReturnType<typeof createHash>; length: number; n: number; contiguous: boolean } | null = null;
  /** Adds the next chunk; returns the file before it once this chunk starts another one. */
  add(chunk: Doc): FileBytes | null {
    const id = String(chunk.files_id);
    const done = this.file && this.file.id !== id ? this.end() : null;
    this.file ??= { id, hash: createHash("sha256"), length: 0, n: 0, contiguous: true };
    const bytes = (chunk.data as mongoose.mongo.BSON.Binary).value();
    if (Number(chunk.n) !== this.file.n++) this.file.contiguous = false;
    this.file.hash.update(bytes);
    this.file.length += bytes.length;
    return done;
  }
  end(): FileBytes | null {
    const f = this.file;
    this.file = null;
    return f && { id: f.id, length: f.length, sha256: f.hash.digest("hex"), contiguous: f.contiguous };
  }
}

/** Read options that keep each value's BSON type (an Int32 stays an Int32, a Double a Double). */
export const EXACT_TYPES = { promoteValues: false, promoteLongs: false, promoteBuffers: false, bsonRegExp: true } as const;

/** Reads documents with their exact BSON types. */
export function readDocs(name: string, sort: Sort, filter: Doc = {}) {
  return mongoose.connection.db!.collection(name).find(filter, { sort, batchSize: 1000, ...EXACT_TYPES });
}

/** Count and checksum of a collection as the database holds it now, in the archive's order. */
export async function digestCollection(name: string, order: Sort): Promise<{ count: number; sha256: string }> {
  const digest = new Digest();
  for await (const doc of readDocs(name, order)) digest.add(doc);
  return { count: digest.count, sha256: digest.sha256 };
}

export async function listIndexes(name: string): Promise<IndexSpec[]> {
  const found = await mongoose.connection.db!.collection(name).listIndexes().toArray().catch(() => []);
  return found.map(({ v: _v, ns: _ns, ...spec }) => spec as IndexSpec);
}

/** The names of the database's collections (no views, no system collections). */
export async function collectionNames(): Promise<string[]> {
  const found = await mongoose.connection.db!.listCollections({ type: "collection" }, { nameOnly: true }).toArray();
  return found.map((c) => c.name).filter((n) => !n.startsWith("system."));
}

/** Lines of UTF-8 text from a byte stream (split on bytes, so a character cut between chunks stays whole). */
export async function* lines(source: AsyncIterable<Buffer>): AsyncGenerator<string> {
  let rest = Buffer.alloc(0);
  for await (const chunk of source) {
    let buf = rest.length ? Buffer.concat([rest, chunk]) : chunk;
    for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
      yield buf.subarray(0, nl).toString("utf8");
      buf = buf.subarray(nl + 1);
    }
    rest = Buffer.from(buf);
  }
  if (rest.length) yield rest.toString("utf8");
}

export class ArchiveError extends Error {}

/** One file of the archive, read as a stream of bytes. */
export type ArchiveEntry = AsyncIterable<Buffer> & { header: { name: string } };

/**
 * Opens an archive: its manifest, then its entries in order (each must be read to its end before
 * the next one comes). `close` when done, also after an error.
 */
export async function openArchive(file: string): Promise<{ manifest: Manifest; entries: AsyncIterator<ArchiveEntry>; close: () => void }> {
  const input = createReadStream(file);
  const tar = extract();
  const close = () => {
    input.destroy();
    tar.destroy();
  };
  const fail = (e: Error) => tar.destroy(new ArchiveError(`${file} 不是可读的 Rectiflow 备份文件（.tar.gz）：${e.message}`));
  input.on("error", fail).pipe(createGunzip()).on("error", fail).pipe(tar);
  const entries = tar[Symbol.asyncIterator]() as AsyncIterator<ArchiveEntry>;
  try {
    const first = await entries.next();
    if (first.done || first.value.header.name !== MANIFEST) throw new ArchiveError(`${file} 不是 Rectiflow 备份文件：第一项应为 ${MANIFEST}`);
    const chunks: Buffer[] = [];
    for await (const c of first.value) chunks.push(c);
    let manifest: Manifest;
    try {
      manifest = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Manifest;
    } catch (e) {
      throw new ArchiveError(`${MANIFEST} 无法解析：${(e as Error).message}`);
    }
    if (manifest.format !== FORMAT) throw new ArchiveError(`不支持的备份格式“${String(manifest.format)}”（应为 ${FORMAT}）`);
    return { manifest, entries, close };
  } catch (e) {
    close();
    throw e instanceof ArchiveError ? e : new ArchiveError(`${file} 不是可读的 Rectiflow 备份文件（.tar.gz）：${(e as Error).message}`);
  }
}

/** Writes the archive: the manifest, then each collection's file (already written into `dir`), gzip'd. */
export async function writeArchive(out: string, manifest: Manifest, dir: string): Promise<void> {
  const tar = pack();
  // Owner-only: the archive holds complainants' identities and password hashes.
  const written = pipeline(tar, createGzip(), createWriteStream(out, { flags: "wx", mode: 0o600 }));
  const mtime = new Date(manifest.finishedAt);
  /** One entry; tar needs its size before its bytes. */
  const add = (name: string, size: number, write: (entry: ReturnType<typeof tar.entry>) => Promise<void>) =>
    new Promise<void>((resolve, reject) => {
      const entry = tar.entry({ name, size, mtime, mode: 0o600 }, (e) => (e ? reject(e) : resolve()));
      write(entry).catch(reject);
    });
  try {
    const text = Buffer.from(JSON.stringify(manifest, null, 1));
    await add(MANIFEST, text.length, async (entry) => void entry.end(text));
    for (const c of manifest.collections) {
      const path = join(dir, c.file);
      await add(c.file, (await stat(path)).size, async (entry) => {
        for await (const chunk of createReadStream(path)) if (!entry.write(chunk)) await new Promise<void>((drained) => entry.once("drain", () => drained()));
        entry.end(undefined);
      });
    }
    tar.finalize();
  } catch (e) {
    tar.destroy(e as Error);
  }
  await written;
}
