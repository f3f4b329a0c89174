/** Helpers for the import/export tests: the demo units, files written in a temp dir, running an import. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import ExcelJS from "exceljs";
import iconv from "iconv-lite";
import type { Actor } from "../../workflows/index.ts";
import { Unit } from "../../src/db/models.ts";
import { createUnit } from "../../src/directory.ts";
import { importLedger, type ImportOptions, type ImportReport } from "../../src/io/import.ts";
import { DEMO_UNITS } from "../../src/seed.ts";
import type { World } from "../support/fixtures.ts";

export const SAMPLE = new URL("../fixtures/inspection-feedback-list.csv", import.meta.url);
export const sampleText = () => readFileSync(SAMPLE, "utf8").replace(/^\uFEFF/, "");
/** The sample list as rows of cells (no quoted commas in it). */
export const sampleRows = () => sampleText().trim().split(/\r?\n/).map((l) => l.split(","));

/** Creates the units of the sample list (the demo directory) with their short names and aliases; returns unit ids by full name. */
export async function demoUnits(): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const [, name, shortName, aliases] of DEMO_UNITS) {
    // makeWorld made three of them (the world's lead, co and other units), without short names or aliases.
    const existing = await Unit.findOne({ name }).lean();
    if (existing) await Unit.updateOne({ _id: existing._id }, { $set: { shortName, aliases } });
    ids.set(name, existing ? existing._id.toString() : (await createUnit({ name, shortName, aliases }))._id.toString());
  }
  return ids;
}

export function tempDir(): { dir: string; path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "rectiflow-io-"));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export type Cells = (string | number | Date | null)[];

/** CSV text with quoting where needed. */
export function csv(rows: Cells[]): string {
  const q = (v: Cells[number]) => {
    const s = v === null ? "" : v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  return `${rows.map((r) => r.map(q).join(",")).join("\r\n")}\r\n`;
}

export const gb18030 = (text: string) => iconv.encode(text, "gb18030");

/** An .xlsx workbook (in memory) with one sheet holding these rows; Date cells get a date format. */
export async function xlsx(rows: Cells[], sheetName = "问题清单"): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet(sheetName);
  for (const r of rows) {
    const row = ws.addRow(r);
    r.forEach((v, i) => {
      if (v instanceof Date) row.getCell(i + 1).numFmt = "yyyy年m月d日";
    });
  }
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/**
 * A large list for the 10,000-row test and the import benchmark: a title row, the header, then the
 * sample's items over and over with numbers P-00001…, descriptions made unique, every third
 * deadline a date cell.
 */
export function* stressRows(n: number): Generator<Cells> {
  const [head, ...sample] = sampleRows();
  yield ["2026年督察反馈问题整改清单（压力测试）"];
  yield head!;
  for (let i = 0; i < n; i++) {
    const r = [...sample[i % sample.length]!] as Cells;
    r[0] = `P-${String(i + 1).padStart(5, "0")}`;
    r[2] = `${r[2]}（第${i + 1}项）`;
    if (i % 3 === 0) r[8] = new Date(Date.UTC(2026, 11, 31));
    yield r;
  }
}

/** A large .xlsx written with the streaming writer (for the 10k-row file). */
export async function writeXlsxStream(path: string, rows: Iterable<Cells>): Promise<void> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: path, useStyles: true, useSharedStrings: true });
  const ws = wb.addWorksheet("问题清单");
  for (const r of rows) ws.addRow(r).commit();
  ws.commit();
  await wb.commit();
}

export function writeFile(path: string, data: string | Buffer): string {
  writeFileSync(path, data);
  return path;
}

/** Runs an import of a buffer as the world's office user. */
export function runImport(w: World, data: Buffer | string, fileName: string, opts: Partial<ImportOptions> & { actor?: Actor } = {}): Promise<ImportReport> {
  const buffer = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return importLedger(Readable.from([buffer]), { fileName, service: w.service, actor: w.office, clock: w.clock, ...opts });
}

/** Reads every sheet of an .xlsx into arrays of cell values (1-based columns dropped to 0-based). */
export async function readXlsx(buffer: Buffer): Promise<Map<string, unknown[][]>> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(buffer as never);
  const out = new Map<string, unknown[][]>();
  wb.eachSheet((ws) => {
    const rows: unknown[][] = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      rows.push((row.values as unknown[]).slice(1));
    });
    out.set(ws.name, rows);
  });
  return out;
}
