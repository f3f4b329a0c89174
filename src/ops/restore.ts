/**
 * Restore: loads a backup archive (archive.ts) into the connected database, which must be empty unless
 * `force` (then it is emptied first). Each collection's count and checksum, and each evidence file's
 * bytes, are checked against the manifest as they load; then the indexes are built: every model's
 * (ensureIndexes) and the others the archive recorded (GridFS's own, for one).
 */
import mongoose from "mongoose";
import { rebuildCounts } from "../cases/counts.ts";
import { ensureIndexes } from "../db/connection.ts";
// The models register themselves: ensureIndexes builds the indexes of every registered model.
import "../db/models.ts";
import { ArchiveError, CHUNKS, ChunkHasher, type CollectionManifest, collectionNames, Digest, fromLine, lines, type Manifest, openArchive } from "./archive.ts";
import { type OnProgress, PROGRESS_EVERY } from "./progress.ts";

type Doc = mongoose.mongo.Document;

/** The database holds data and `force` was not given. */
export class RestoreRefused extends Error {}

export interface RestoreResult {
  manifest: Manifest;
  documents: number;
  attachments: number;
  /** Collections that held documents and were emptied (force). */
  emptied: string[];
}

/** Inserting in batches: one round trip per ~1000 documents, bounded in bytes (GridFS chunks are 255 kB each). */
const BATCH_DOCS = 1000;
const BATCH_BYTES = 8 * 1024 * 1024;

export async function restore(file: string, opts: { force?: boolean; onProgress?: OnProgress } = {}): Promise<RestoreResult> {
  const db = mongoose.connection.db!;
  // The manifest is read (and the file known to be an archive) before anything is touched.
  const { close } = await openArchive(file);
  close();
  const holding = await collectionsWithData();
  if (holding.length && !opts.force)
    throw new RestoreRefused(
      `数据库 ${db.databaseName} 不是空的（${holding.map((h) => `${h.name} ${h.count} 条`).join("，")}）。要清空它再恢复，请加 --force`,
    );
  if (holding.length) {
    // Emptying is the one step that cannot be taken back: a damaged archive is found before it.
    await load(file, false, opts.onProgress && ((p) => opts.onProgress!({ ...p, step: `检查 ${p.step}` })));
    for (const name of await collectionNames()) await db.collection(name).drop();
  }
  const loaded = await load(file, true, opts.onProgress);
  await opts.onProgress?.({ step: "indexes", done: 0 });
  await ensureIndexes();
  await recordedIndexes(loaded.manifest.collections);
  // The counts follow the cases restored, whatever the archive's copy of them says (it may be older or newer).
  await rebuildCounts();
  await opts.onProgress?.({ step: "indexes", done: loaded.manifest.collections.length, finished: true });
  return { ...loaded, emptied: holding.map((h) => h.name) };
}

async function collectionsWithData(): Promise<{ name: string; count: number }[]> {
  const db = mongoose.connection.db!;
  const counts = await Promise.all((await collectionNames()).map(async (name) => ({ name, count: await db.collection(name).estimatedDocumentCount() })));
  return counts.filter((c) => c.count > 0);
}

/** Reads the whole archive, checking it against its manifest; inserts the documents when `insert`. */
async function load(file: string, insert: boolean, onProgress?: OnProgress) {
  const { manifest, entries, close } = await openArchive(file);
  try {
    const expected = new Map(manifest.collections.map((c) => [c.file, c]));
    const attachments = new Map(manifest.attachments.map((a) => [a.id, a]));
    const checked = new Set<string>();
    let documents = 0;
    for (let next = await entries.next(); !next.done; next = await entries.next()) {
      const c = expected.get(next.value.header.name);
      if (!c) throw new ArchiveError(`备份文件中有清单未列出的“${next.value.header.name}”`);
      expected.delete(c.file);
      const onFile = (f: ReturnType<ChunkHasher["end"]>) => {
        if (!f) return;
        const want = attachments.get(f.id);
        if (!want || want.length !== f.length || want.sha256 !== f.sha256)
          throw new ArchiveError(`附件 ${f.id}${want ? `（${want.filename}）` : ""}的内容与清单不符（${f.length} 字节，SHA-256 ${f.sha256.slice(0, 12)}…）`);
        checked.add(f.id);
      };
      documents += await loadCollection(c, next.value, insert, onProgress, c.name === CHUNKS ? onFile : undefined);
    }
    if (expected.size) throw new ArchiveError(`备份文件不完整：缺少 ${[...expected.keys()].join("、")}`);
    const unchecked = manifest.attachments.filter((a) => a.length > 0 && !checked.has(a.id));
    if (unchecked.length) throw new ArchiveError(`备份文件不完整：${unchecked.length} 个附件没有内容（如 ${unchecked[0]!.id}）`);
    return { manifest, documents, attachments: manifest.attachments.length };
  } catch (e) {
    if (insert && e instanceof ArchiveError) e.message += "；数据库中现为部分数据，请用完好的备份加 --force 重新恢复";
    throw e;
  } finally {
    close();
  }
}

async function loadCollection(
  c: CollectionManifest,
  source: AsyncIterable<Buffer>,
  insert: boolean,
  onProgress?: OnProgress,
  onFile?: (f: ReturnType<ChunkHasher["end"]>) => void,
): Promise<number> {
  const collection = mongoose.connection.db!.collection(c.name);
  const digest = new Digest();
  const hasher = onFile && new ChunkHasher();
  let batch: Doc[] = [];
  let bytes = 0;
  const flush = async () => {
    if (insert && batch.length) await collection.insertMany(batch, { ordered: true });
    batch = [];
    bytes = 0;
  };
  await onProgress?.({ step: c.name, done: 0, total: c.count });
  for await (const line of lines(source)) {
    if (!line) continue;
    let doc: Doc;
    try {
      doc = fromLine(line);
    } catch (e) {
      throw new ArchiveError(`${c.file} 第 ${digest.count + 1} 行无法解析：${(e as Error).message}`);
    }
    digest.add(doc);
    if (hasher) onFile!(hasher.add(doc));
    batch.push(doc);
    bytes += line.length;
    if (batch.length >= BATCH_DOCS || bytes >= BATCH_BYTES) await flush();
    if (digest.count % PROGRESS_EVERY === 0) await onProgress?.({ step: c.name, done: digest.count, total: c.count });
  }
  if (hasher) onFile!(hasher.end());
  await flush();
  if (digest.count !== c.count || digest.sha256 !== c.sha256)
    throw new ArchiveError(
      `${c.name} 与清单不符：${digest.count} 条（清单 ${c.count} 条），校验和 ${digest.sha256.slice(0, 12)}…（清单 ${c.sha256.slice(0, 12)}…）`,
    );
  await onProgress?.({ step: c.name, done: digest.count, finished: true });
  return digest.count;
}

/** The indexes the archive recorded that the models do not declare (GridFS's, for one), or that the models no longer build. */
async function recordedIndexes(collections: CollectionManifest[]): Promise<void> {
  const db = mongoose.connection.db!;
  for (const c of collections) {
    const collection = db.collection(c.name);
    const existing = new Set((await collection.listIndexes().toArray().catch(() => [])).map((i) => i.name as string));
    for (const { key, name, ...options } of c.indexes) {
      if (existing.has(name)) continue;
      try {
        await collection.createIndex(key as mongoose.mongo.IndexSpecification, { ...options, name });
      } catch (e) {
        // The same keys under another name, as the models now declare them: theirs stands.
        if (!["IndexOptionsConflict", "IndexKeySpecsConflict"].includes(String((e as { codeName?: string }).codeName))) throw e;
      }
    }
  }
}
