/**
 * Backup: one consistent archive of the ledger named by the connection (the format: archive.ts).
 *
 * Consistency without transactions. Collections are copied one after another, each after the ones whose
 * documents it may refer to (in the order the services write them), so whatever a copied document needs
 * was written before it and is copied too:
 * - cases first, keeping each case's version; then case_history in (caseId, seq) order. History is
 *   append-only and a case document projects an entry that was written before it, so every entry up to a
 *   copied case's version is there. Entries appended while the backup runs are copied too: that case then
 *   lags its history, as after a crash between append and projection, which verify-ledger accepts and the
 *   service rolls forward on the next read; in (caseId, seq) order such entries come after the cursor, so a
 *   chain is never read with a hole. Entries of cases not in the copy (registered after the cases were
 *   read, or left by a registration that failed halfway) are left out.
 * - sequences, then notices: a notice exists before its number is claimed, so each claimed supervision
 *   number's notice is copied; one read while its number was being written is read again.
 * - notices, then notice_deliveries (a notice's deliveries are written before it).
 * - attachments.files, then attachments.chunks (GridFS writes a file's chunks before its files document):
 *   only the chunks of copied files; a file deleted meanwhile (an upload whose action was refused) is dropped.
 * - units, users, rules and the rest after the cases that name them.
 * Sessions are not copied: they are sign-ins, bound to the secret of the processes that made them.
 */
import { once } from "node:events";
import { createWriteStream, existsSync, type WriteStream } from "node:fs";
import { mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import { setTimeout as sleep } from "node:timers/promises";
import mongoose from "mongoose";
import { sha256 } from "../cases/history.ts";
import {
  ArchiveError,
  type AttachmentManifest,
  BY_ID,
  CHUNK_ORDER,
  CHUNKS,
  ChunkHasher,
  type CollectionManifest,
  collectionNames,
  Digest,
  EXACT_TYPES,
  FILES,
  FORMAT,
  type FileBytes,
  listIndexes,
  type Manifest,
  readDocs,
  toLine,
  writeArchive,
} from "./archive.ts";
import { type OnProgress, PROGRESS_EVERY } from "./progress.ts";

type Doc = mongoose.mongo.Document;
type Sort = Record<string, 1>;

const HISTORY_ORDER = { caseId: 1, seq: 1 } as const;
/** Copied in this order, before the others (see above). */
const FIRST = ["cases", "case_history", "sequences", "notices", "notice_deliveries", FILES, CHUNKS];
export const SKIPPED = ["sessions"];
const SUPERVISION = /^supervision-\d{4}$/;

export interface BackupResult {
  file: string;
  bytes: number;
  manifest: Manifest;
  /** Cases whose history has entries beyond the copied case document (events applied during the backup). */
  laggingCases: number;
  /** History entries left out: of cases registered during the backup or left by a failed registration. */
  historyLeftOut: number;
  /** Files dropped because they were deleted while the backup ran. */
  filesDropped: number;
}

/** One collection's file in the archive's temporary directory, with its count and checksum. */
class CollectionFile {
  private readonly digest = new Digest();
  private error: Error | null = null;
  private constructor(
    private readonly out: WriteStream,
    readonly name: string,
    private readonly order: Sort,
    private readonly total: number,
    private readonly onProgress?: OnProgress,
  ) {
    out.on("error", (e) => {
      this.error = e;
    });
  }

  static async open(dir: string, name: string, order: Sort, onProgress?: OnProgress): Promise<CollectionFile> {
    const total = await mongoose.connection.db!.collection(name).estimatedDocumentCount();
    const file = new CollectionFile(createWriteStream(join(dir, `${name}.ejson`), { flags: "wx" }), name, order, total, onProgress);
    await onProgress?.({ step: name, done: 0, total });
    return file;
  }

  async write(doc: Doc): Promise<void> {
    if (this.error) throw this.error;
    this.digest.add(doc);
    if (!this.out.write(toLine(doc))) await once(this.out, "drain");
    if (this.digest.count % PROGRESS_EVERY === 0) await this.onProgress?.({ step: this.name, done: this.digest.count, total: this.total });
  }

  async close(): Promise<CollectionManifest> {
    this.out.end();
    await finished(this.out);
    await this.onProgress?.({ step: this.name, done: this.digest.count, finished: true });
    return { name: this.name, file: `${this.name}.ejson`, count: this.digest.count, sha256: this.digest.sha256, order: this.order, indexes: await listIndexes(this.name) };
  }
}

/** Writes a backup of the connected database to `out` (a new file: an existing one is never overwritten). */
export async function backup(out: string, opts: { onProgress?: OnProgress } = {}): Promise<BackupResult> {
  if (existsSync(out)) throw new ArchiveError(`${out} 已存在，不覆盖；请换一个文件名`);
  const startedAt = new Date();
  const db = mongoose.connection.db!;
  // Beside the archive rather than in /tmp: the copy is as large as the database and /tmp may be small.
  const tmp = await mkdtemp(join(dirname(out), `.${basename(out)}-`));
  const partial = join(tmp, "archive.partial");
  const open = (name: string, order: Sort = BY_ID) => CollectionFile.open(tmp, name, order, opts.onProgress);
  const warnings: string[] = [];
  try {
    const collections: CollectionManifest[] = [];
    const cases = await copyCases(await open("cases"));
    collections.push(cases.manifest);
    const history = await copyHistory(await open("case_history", HISTORY_ORDER), cases.versions, warnings);
    collections.push(history.manifest, ...(await copyNumbered(open)));
    collections.push(await copyAll(await open("notice_deliveries")));
    const files = await copyAttachments(open, warnings);
    collections.push(...files.collections);
    const names = await collectionNames();
    for (const name of names.filter((n) => !FIRST.includes(n) && !SKIPPED.includes(n)).sort()) collections.push(await copyAll(await open(name)));

    const manifest: Manifest = {
      format: FORMAT,
      app: await appVersion(),
      database: db.databaseName,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      consistency:
        "Collections copied one after another, each after those it refers to; cases before their history, which is copied up to at least each case's version (a case may lag its history by entries applied during the backup: the service rolls it forward).",
      skipped: SKIPPED,
      collections,
      attachments: files.attachments,
      warnings,
    };
    await writeArchive(partial, manifest, tmp);
    // Only a finished archive gets the name: an interrupted run never leaves a plausible-looking file.
    await rename(partial, out);
    return { file: out, bytes: (await stat(out)).size, manifest, laggingCases: history.lagging, historyLeftOut: history.leftOut, filesDropped: files.dropped };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function copyCases(file: CollectionFile) {
  const versions = new Map<string, { version: number; entries: number }>();
  for await (const c of readDocs("cases", BY_ID)) {
    versions.set(String(c._id), { version: Number(c.version), entries: 0 });
    await file.write(c);
  }
  return { manifest: await file.close(), versions };
}

async function copyHistory(file: CollectionFile, versions: Map<string, { version: number; entries: number }>, warnings: string[]) {
  let leftOut = 0;
  for await (const entry of readDocs("case_history", HISTORY_ORDER)) {
    const of = versions.get(String(entry.caseId));
    if (!of) {
      // Already a position in the ledger tree (docs/ledger.md): kept, or the restored tree would have a hole.
      if (typeof entry.leaf === "number" && entry.leaf >= 0) await file.write(entry);
      else leftOut++;
      continue;
    }
    of.entries++;
    await file.write(entry);
  }
  let lagging = 0;
  for (const [id, { version, entries }] of versions) {
    if (entries > version) lagging++;
    // Already so in the database (appends are never undone): copied as it is, for verify-ledger to name.
    if (entries < version) warnings.push(`case ${id}: ${entries} history entries for version ${version} (run verify-ledger)`);
  }
  return { manifest: await file.close(), lagging, leftOut };
}

/** Sequences, then notices; a notice whose supervision number was claimed but not yet written is read again. */
async function copyNumbered(open: (name: string) => Promise<CollectionFile>): Promise<CollectionManifest[]> {
  const claimed = new Set<string>();
  const sequences = await open("sequences");
  for await (const s of readDocs("sequences", BY_ID)) {
    if (SUPERVISION.test(String(s.name)) && s.ref) claimed.add(String(s.ref));
    await sequences.write(s);
  }
  const notices = await open("notices");
  const collection = mongoose.connection.db!.collection("notices");
  for await (let n of readDocs("notices", BY_ID)) {
    // The issuer writes the number right after claiming it; a number still missing after a second is
    // missing in the database too (verify-ledger names it).
    for (let i = 0; i < 5 && n.number == null && claimed.has(String(n._id)); i++) {
      await sleep(200);
      n = (await collection.findOne({ _id: n._id }, EXACT_TYPES)) ?? n;
    }
    await notices.write(n);
  }
  return [await sequences.close(), await notices.close()];
}

async function copyAll(file: CollectionFile): Promise<CollectionManifest> {
  for await (const doc of readDocs(file.name, BY_ID)) await file.write(doc);
  return file.close();
}

/**
 * GridFS: the files documents are held in memory (small: a name, a length and metadata each) while the
 * chunks are copied, one file's chunks at a time, so a file found incomplete can be left out whole.
 */
async function copyAttachments(open: (name: string, order?: Sort) => Promise<CollectionFile>, warnings: string[]) {
  const db = mongoose.connection.db!;
  const files = await readDocs(FILES, BY_ID).toArray();
  const byId = new Map(files.map((f) => [String(f._id), f]));
  const stillThere = async (id: string) => (await db.collection(FILES).countDocuments({ _id: byId.get(id)!._id }, { limit: 1 })) > 0;
  const attachments = new Map<string, AttachmentManifest>();
  const dropped = new Set<string>();
  const manifestOf = (f: FileBytes): AttachmentManifest => ({ id: f.id, filename: String(byId.get(f.id)!.filename), length: f.length, sha256: f.sha256 });

  const chunks = await open(CHUNKS, CHUNK_ORDER);
  const settle = async (f: FileBytes | null, group: Doc[]) => {
    if (!f) return;
    if (!f.contiguous || f.length !== Number(byId.get(f.id)!.length)) {
      if (!(await stillThere(f.id))) return void dropped.add(f.id);
      warnings.push(`attachment ${f.id}: ${f.length} of ${Number(byId.get(f.id)!.length)} bytes in its chunks${f.contiguous ? "" : ", chunks missing"} (copied as it is)`);
    }
    attachments.set(f.id, manifestOf(f));
    for (const c of group) await chunks.write(c);
  };
  const hasher = new ChunkHasher();
  let group: Doc[] = [];
  for await (const c of readDocs(CHUNKS, CHUNK_ORDER)) {
    // Chunks of a file still being uploaded (its files document comes last) or of one deleted.
    if (!byId.has(String(c.files_id))) continue;
    const done = hasher.add(c);
    if (done) {
      await settle(done, group);
      group = [];
    }
    group.push(c);
  }
  await settle(hasher.end(), group);
  // Files without a single chunk: empty ones, or deleted meanwhile.
  for (const id of byId.keys()) {
    if (attachments.has(id) || dropped.has(id)) continue;
    if (Number(byId.get(id)!.length) > 0 && !(await stillThere(id))) {
      dropped.add(id);
      continue;
    }
    await settle({ id, length: 0, sha256: sha256(""), contiguous: true }, []);
  }
  const chunksManifest = await chunks.close();
  const filesOut = await open(FILES);
  for (const f of files) if (!dropped.has(String(f._id))) await filesOut.write(f);
  const collections = [await filesOut.close(), chunksManifest];
  return { collections, attachments: [...attachments.values()].sort((a, b) => (a.id < b.id ? -1 : 1)), dropped: dropped.size };
}

async function appVersion(): Promise<{ name: string; version: string }> {
  const pkg = JSON.parse(await readFile(new URL("../../package.json", import.meta.url), "utf8")) as { name: string; version: string };
  return { name: pkg.name, version: pkg.version };
}
