/**
 * Rows of a spreadsheet file, streamed: `.xlsx` through exceljs' streaming reader (no workbook in
 * memory), `.csv` through csv-parse after decoding UTF-8 (with or without BOM) or GB18030. The
 * format is told by content, not by name; the encoding by whether the first 64 KiB are valid UTF-8.
 * Row numbers are what a spreadsheet program shows: the n-th record, blank ones and rows above the
 * header included.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";
import { parse } from "csv-parse";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import { AppError } from "../errors.ts";

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

/** Counts the bytes that pass (for a progress bar). */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

/** The first `n` bytes of a stream, and a stream that still yields everything. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let done = false;
  while (size < n) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    chunks.push(chunk);
    size += chunk.length;
  }
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

export async function openRows(input: Readable): Promise<OpenedFile> {
  const { head, stream } = await peek(input, 64 * 1024);
  if (head.length === 0) throw badFile("文件是空的");
  if (head.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) return { format: "xlsx", encoding: null, rows: xlsxRows(stream) };
  if (head.subarray(0, 4).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0])))
    throw badFile("不支持 Excel 97-2003（.xls）格式，请在 Excel 中另存为 .xlsx 或 CSV（UTF-8）后再导入");
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))
    throw badFile("不支持 UTF-16 编码的文本，请另存为 CSV（UTF-8）或 .xlsx 后再导入");
  if (head.subarray(0, Math.min(head.length, 8192)).includes(0)) throw badFile("无法识别的文件格式：请上传 .xlsx 或 CSV 文件");
  const encoding = detectEncoding(head);
  return { format: "csv", encoding, rows: csvRows(stream, encoding) };
}

async function* csvRows(stream: Readable, encoding: Encoding): AsyncGenerator<SheetRow> {
  // iconv-lite drops a UTF-8 BOM; blank lines stay, so row numbers match what Excel shows.
  const parser = stream.pipe(iconv.decodeStream(encoding)).pipe(parse({ relax_column_count: true, relax_quotes: true, bom: true }));
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      row++;
      yield { row, cells: record };
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    const err = e as { code?: string; lines?: number; message?: string };
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

async function* xlsxRows(stream: Readable): AsyncGenerator<SheetRow> {
  // styles: cache, so date cells come out as dates; shared strings are kept (one copy per distinct text).
  const reader = new ExcelJS.stream.xlsx.WorkbookReader(stream, { worksheets: "emit", sharedStrings: "cache", styles: "cache", hyperlinks: "ignore", entries: "ignore" });
  try {
    for await (const sheet of reader) {
      const name = (sheet as unknown as { name?: string }).name;
      for await (const r of sheet) {
        const values = (r.values as unknown[]) ?? [];
        // exceljs rows are 1-based (values[0] is empty).
        const cells: Cell[] = [];
        for (let i = 1; i < values.length; i++) cells.push(cellValue(values[i]));
        yield { row: r.number, cells, sheet: name };
      }
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw badFile(`无法读取该 .xlsx 文件（${(e as Error).message?.slice(0, 100) ?? "格式有误"}），请在 Excel 中打开后另存为 .xlsx 再导入`);
  }
}
