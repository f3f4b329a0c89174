/**
 * Rows of a spreadsheet file, streamed: `.xlsx` through exceljs' streaming reader (no workbook in
 * memory), `.csv` through csv-parse after decoding UTF-8 (with or without BOM) or GB18030. The
 * format is told by content, not by name; the encoding by whether the first 64 KiB are valid UTF-8.
 * Row numbers are what a spreadsheet program shows: the n-th record, blank ones and rows above the
 * header included.
 *
 * A file is bounded before anything builds text from it (ImportLimits): an .xlsx's parts are
 * inflated here, counting the bytes actually inflated (a zip's declared sizes can lie), and handed
 * to exceljs as a stored zip of just those parts; rows and the length of a cell are counted as they
 * come.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";
import { crc32, inflateRawSync } from "node:zlib";
import { parse } from "csv-parse";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import type { Config } from "../config.ts";
import { AppError } from "../errors.ts";

/** What one imported file may hold (config: IMPORT_MAX_UNZIPPED_MB, IMPORT_MAX_ROWS, IMPORT_MAX_CELL_CHARS). */
export interface ImportLimits {
  /** The inflated bytes of the parts of an .xlsx that are read (sheets, shared strings, styles, workbook); for a CSV, the file. */
  unzippedBytes: number;
  /** Records (rows of the sheet or lines of the CSV, the header and blank ones included). */
  rows: number;
  /** Characters in one cell (Excel's own limit is 32,767). */
  cellChars: number;
}

export const DEFAULT_IMPORT_LIMITS: ImportLimits = { unzippedBytes: 32 * 2 ** 20, rows: 50_000, cellChars: 32_767 };

export const importLimitsOf = (c: Pick<Config, "IMPORT_MAX_UNZIPPED_MB" | "IMPORT_MAX_ROWS" | "IMPORT_MAX_CELL_CHARS">): ImportLimits => ({
  unzippedBytes: Math.round(c.IMPORT_MAX_UNZIPPED_MB * 2 ** 20),
  rows: c.IMPORT_MAX_ROWS,
  cellChars: c.IMPORT_MAX_CELL_CHARS,
});

/** Columns read from a row: a list has about a dozen; a cell at column XFD would make every row 16,384 wide. */
const MAX_COLUMNS = 200;

export type Cell = string | number | Date | null;

export interface SheetRow {
  /** 1-based, as a spreadsheet program numbers rows. */
  row: number;
  /** 0-based by column. */
  cells: Cell[];
  /** For xlsx: the worksheet's name. */
  sheet?: string;
}

export type Format = "xlsx" | "csv";
export type Encoding = "utf8" | "gb18030";

export interface OpenedFile {
  format: Format;
  encoding: Encoding | null;
  rows: AsyncIterable<SheetRow>;
}

/** A refused file (wrong kind, unreadable): the message says what to do. */
export const badFile = (message: string) => new AppError(422, "import_bad_file", message);
/** A file beyond ImportLimits (413). */
const tooLarge = (message: string, details: Record<string, unknown> = {}) => new AppError(413, "import_too_large", message, details);
const mb = (bytes: number) => `${Math.round((bytes / 2 ** 20) * 10) / 10} MB`;

/** Counts the bytes that pass (for a progress bar). */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** Chunks from an iterator until at least `n` bytes are in or it ends (peek and readAll both read through here). */
async function take(it: AsyncIterator<Buffer>, n: number): Promise<{ chunks: Buffer[]; size: number; done: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const r = await it.next();
    if (r.done) return { chunks, size, done: true };
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(chunk);
    size += chunk.length;
  }
  return { chunks, size, done: false };
}

/** The first `n` bytes of a stream, and a stream that still yields everything. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const { chunks, done } = await take(it, n);
  const head = Buffer.concat(chunks);
  async function* all() {
    if (head.length) yield head;
    if (done) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  return { head, stream: Readable.from(all(), { objectMode: false }) };
}

/** UTF-8 (a BOM, or valid UTF-8 in the first bytes) or else GB18030 (which GBK and GB2312 files also are). */
export function detectEncoding(head: Buffer): Encoding {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return "utf8";
  try {
    // stream: true lets a character cut at the end of the sample pass.
    new TextDecoder("utf-8", { fatal: true }).decode(head, { stream: true });
    return "utf8";
  } catch {
    return "gb18030";
  }
}

export async function openRows(input: Readable, limits: ImportLimits = DEFAULT_IMPORT_LIMITS): Promise<OpenedFile> {
  const { head, stream } = await peek(input, 64 * 1024);
  if (head.length === 0) throw badFile("文件是空的");
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    const parts = unpackXlsx(await readAll(stream, limits.unzippedBytes), limits);
    return { format: "xlsx", encoding: null, rows: xlsxRows(Readable.from(slices(parts)), limits) };
  }
  if (head.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0])))
    throw badFile("不支持 Excel 97-2003（.xls）格式，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再导入");
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))
    throw badFile("不支持 UTF-16 编码的文本，请另存为 CSV（UTF-8）或 .xlsx 后再导入");
  if (head.subarray(0, Math.min(head.length, 8192)).includes(0)) throw badFile("无法识别的文件格式：请上传 .xlsx 或 CSV 文件");
  const encoding = detectEncoding(head);
  return { format: "csv", encoding, rows: csvRows(stream, encoding, limits) };
}

/** The whole stream, refused (413) past `max` bytes. */
async function readAll(stream: Readable, max: number): Promise<Buffer> {
  const { chunks, size } = await take(stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>, max + 1);
  if (size > max) {
    stream.destroy();
    throw tooLarge(`文件超过 ${mb(max)}，无法导入：请删去图片等无关内容或分批导入`, { limitBytes: max });
  }
  return Buffer.concat(chunks);
}

/** The parts of a workbook exceljs reads, in the order that lets it stream the sheets (no temporary files). */
const PARTS: RegExp[] = [/^xl\/_rels\/workbook\.xml\.rels$/, /^xl\/workbook\.xml$/, /^xl\/sharedStrings\.xml$/, /^xl\/styles\.xml$/, /^xl\/worksheets\/sheet\d+\.xml$/];
/** Parts whose text becomes cells. */
const TEXT_PARTS = /^xl\/(sharedStrings|worksheets\/sheet\d+)\.xml$/;

/**
 * The parts of an .xlsx that are read, inflated here with a bounded inflater (the total counted as
 * it is produced, whatever the zip declares), checked for any run of text longer than a cell may be,
 * and returned as a stored zip (no compression) of just those parts, for exceljs to read.
 */
export function unpackXlsx(file: Buffer, limits: ImportLimits): Buffer[] {
  const unreadable = (why: string) => badFile(`无法读取该 .xlsx 文件（${why}），请在 Excel 中打开后另存为 .xlsx 再导入`);
  const eocd = file.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0 || eocd + 22 > file.length) throw unreadable("不是完整的 zip 文件");
  const count = file.readUInt16LE(eocd + 10);
  let at = file.readUInt32LE(eocd + 16);
  if (count === 0xffff || at === 0xffffffff) throw unreadable("不支持 ZIP64");
  const found: { name: string; rank: number; data: Buffer }[] = [];
  let total = 0;
  // The most a cell's text can take in XML: each character as a numeric reference such as "&#x4E2D;".
  const maxRun = limits.cellChars * 8 + 64;
  for (let i = 0; i < count; i++) {
    if (at + 46 > file.length || file.readUInt32LE(at) !== 0x02014b50) throw unreadable("目录损坏");
    const flags = file.readUInt16LE(at + 8);
    const method = file.readUInt16LE(at + 10);
    const compressed = file.readUInt32LE(at + 20);
    const nameLength = file.readUInt16LE(at + 28);
    const name = file.toString(flags & 0x800 ? "utf8" : "latin1", at + 46, at + 46 + nameLength);
    const local = file.readUInt32LE(at + 42);
    at += 46 + nameLength + file.readUInt16LE(at + 30) + file.readUInt16LE(at + 32);
    const rank = PARTS.findIndex((p) => p.test(name));
    if (rank < 0) continue;
    if (flags & 1) throw unreadable("文件已加密");
    if (local + 30 > file.length || file.readUInt32LE(local) !== 0x04034b50) throw unreadable("目录损坏");
    const start = local + 30 + file.readUInt16LE(local + 26) + file.readUInt16LE(local + 28);
    const raw = file.subarray(start, start + compressed);
    const room = limits.unzippedBytes - total;
    const over = () => tooLarge(`文件解压后超过 ${mb(limits.unzippedBytes)}，无法导入：请删去无关的工作表或分批导入`, { limitBytes: limits.unzippedBytes });
    let data: Buffer;
    if (method === 0) data = raw;
    else if (method === 8) {
      if (room <= 0) throw over();
      try {
        // Stops as soon as the output passes what is left of the limit.
        data = inflateRawSync(raw, { maxOutputLength: room });
      } catch (e) {
        if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw over();
        throw unreadable("压缩数据损坏");
      }
    } else throw unreadable("不支持的压缩方式");
    total += data.length;
    if (total > limits.unzippedBytes) throw over();
    if (TEXT_PARTS.test(name)) {
      const { longest, tags } = scan(data);
      if (longest > maxRun) throw new AppError(422, "import_cell_too_long", `文件中有单元格内容超过 ${limits.cellChars} 个字符，无法导入`, { limitChars: limits.cellChars });
      // exceljs keeps every shared string (and each run of rich text) as objects: their number is bounded
      // with the rows (a 50,000-row list has about 400,000 tags there), not only by the bytes.
      if (name === "xl/sharedStrings.xml" && tags > limits.rows * 40)
        throw tooLarge(`文件中的文字项过多（超过 ${limits.rows * 40} 个标记），无法导入：请分批导入`, { limitTags: limits.rows * 40 });
    }
    found.push({ name, rank, data });
  }
  return storedZip(found.sort((a, b) => a.rank - b.rank));
}

/** Buffers in pieces of at most 64 KB: the XML parser turns each piece it is given into one batch of events. */
function* slices(parts: Buffer[], size = 64 * 1024): Generator<Buffer> {
  for (const p of parts) for (let i = 0; i < p.length; i += size) yield p.subarray(i, i + size);
}

/** In XML: the longest stretch of bytes without "<" (a text node, or a tag), and the number of tags. */
function scan(xml: Buffer): { longest: number; tags: number } {
  let longest = 0;
  let tags = 0;
  let from = 0;
  for (;;) {
    const lt = xml.indexOf(0x3c, from);
    const end = lt < 0 ? xml.length : lt;
    longest = Math.max(longest, end - from);
    if (lt < 0) return { longest, tags };
    tags++;
    from = lt + 1;
  }
}

/** A zip of the given parts, stored (method 0) with their true sizes and CRCs. */
function storedZip(parts: { name: string; data: Buffer }[]): Buffer[] {
  return zipArchive(parts.map(({ name, data }) => ({ name, data, method: 0, size: data.length, crc: crc32(data) })));
}

/** One entry of a zip as written: its bytes (stored, or deflated), how, and its inflated size and CRC-32. */
export interface ZipPart {
  name: string;
  data: Buffer;
  /** 0 stored, 8 deflated. */
  method: 0 | 8;
  size: number;
  crc: number;
}

/** A zip archive of the parts as given (also the tests' hostile files: test/support/hostile.ts). */
export function zipArchive(parts: ZipPart[]): Buffer[] {
  const out: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data, method, size, crc } of parts) {
    const n = Buffer.from(name, "utf8");
    // The fields a local header and its directory entry share, at their offsets in each.
    const common = (b: Buffer, at: number) => {
      b.writeUInt16LE(0x800, at); // names in UTF-8
      b.writeUInt16LE(method, at + 2);
      b.writeUInt16LE(0x21, at + 6); // 1980-01-01
      b.writeUInt32LE(crc, at + 8);
      b.writeUInt32LE(data.length, at + 12);
      b.writeUInt32LE(size, at + 16);
      b.writeUInt16LE(n.length, at + 20);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    common(local, 6);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    common(dir, 8);
    dir.writeUInt32LE(offset, 42);
    out.push(local, n, data);
    central.push(dir, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return [...out, cd, end];
}

/** Refuses a record past the row limit and a cell longer than a cell may be. */
function bounded(count: number, row: number, cells: Cell[], limits: ImportLimits): void {
  if (count > limits.rows) throw tooLarge(`清单超过 ${limits.rows} 行，无法导入：请分批导入`, { limitRows: limits.rows });
  for (const [i, c] of cells.entries())
    if (typeof c === "string" && c.length > limits.cellChars)
      throw new AppError(422, "import_cell_too_long", `第 ${row} 行第 ${i + 1} 列的内容超过 ${limits.cellChars} 个字符，无法导入`, { row, column: i + 1, limitChars: limits.cellChars });
}

async function* csvRows(stream: Readable, encoding: Encoding, limits: ImportLimits): AsyncGenerator<SheetRow> {
  // iconv-lite drops a UTF-8 BOM; blank lines stay, so row numbers match what Excel shows.
  // max_record_size bounds what csv-parse buffers for one record (an unclosed quote would take the rest of the file).
  const parser = stream
    .pipe(iconv.decodeStream(encoding))
    .pipe(parse({ relax_column_count: true, relax_quotes: true, bom: true, max_record_size: limits.cellChars * 4 }));
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      if (record.length > MAX_COLUMNS) throw badFile(`第 ${row} 行超过 ${MAX_COLUMNS} 列，请检查分隔符`);
      bounded(row, row, record, limits);
      yield { row, cells: record };
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    const err = e as { code?: string; lines?: number; message?: string };
    if (err.code === "CSV_MAX_RECORD_SIZE")
      throw new AppError(422, "import_cell_too_long", `约第 ${err.lines ?? row + 1} 行的内容过长（超过 ${limits.cellChars} 个字符）或引号不成对，无法导入`, { limitChars: limits.cellChars });
    if (typeof err.code === "string" && err.code.startsWith("CSV_"))
      throw badFile(`CSV 格式有误（约第 ${err.lines ?? row + 1} 行）：引号不成对或分隔符有误，请在 Excel 中检查后重新保存`);
    throw e;
  }
}

/** An exceljs cell value as text, number or date. */
export function cellValue(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === "string" || typeof v === "number" || v instanceof Date) return v;
  if (typeof v === "boolean") return v ? "是" : "否";
  if (typeof v === "object") {
    const o = v as { richText?: { text: string }[]; result?: unknown; text?: unknown; error?: string; formula?: string };
    if (Array.isArray(o.richText)) return o.richText.map((r) => r.text).join("");
    if ("result" in o || "formula" in o) return cellValue(o.result);
    if ("text" in o) return cellValue(o.text);
    if (typeof o.error === "string") return o.error;
  }
  return String(v);
}

async function* xlsxRows(stream: Readable, limits: ImportLimits): AsyncGenerator<SheetRow> {
  // styles: cache, so date cells come out as dates; shared strings are kept (one copy per distinct text).
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(stream, { worksheets: "emit", sharedStrings: "cache", styles: "cache", hyperlinks: "ignore", entries: "ignore" });
  let rows = 0;
  try {
    for await (const sheet of reader) {
      const name = (sheet as unknown as { name?: string }).name;
      for await (const r of sheet) {
        const values = (r.values as unknown[]) ?? [];
        if (values.length > MAX_COLUMNS + 1) throw badFile(`工作表“${name ?? ""}”第 ${r.number} 行超过 ${MAX_COLUMNS} 列，请删去多余的列后再导入`);
        // exceljs rows are 1-based (values[0] is empty).
        const cells: Cell[] = [];
        for (let i = 1; i < values.length; i++) cells.push(cellValue(values[i]));
        // The count of rows read, not the row number: a sheet may start at row 1,000,000.
        bounded(++rows, r.number, cells, limits);
        yield { row: r.number, cells, sheet: name };
      }
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw badFile(`无法读取该 .xlsx 文件（${(e as Error).message?.slice(0, 100) ?? "格式有误"}），请在 Excel 中打开后另存为 .xlsx 再导入`);
  }
}
