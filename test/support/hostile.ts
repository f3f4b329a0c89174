/**
 * Hostile payloads (issue 20's probes), built at run time and small on the wire: for
 * test/http/hostile.test.ts and the benchmark's memory section. Each one once killed or stalled
 * the web process; `send` posts one to a running process over a raw connection.
 */
import { request } from "node:http";
import { createDeflateRaw, crc32 } from "node:zlib";
import { zipArchive, type ZipPart } from "../../src/io/rows.ts";

/** One entry of a zip: its name and its content as chunks (generated, never held whole). */
export interface ZipEntry {
  name: string;
  chunks: () => Iterable<Buffer>;
}

/** Deflates chunks as they come; returns the compressed bytes, the inflated size and the CRC-32. */
async function deflate(chunks: Iterable<Buffer>): Promise<{ data: Buffer; size: number; crc: number }> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [];
  z.on("data", (b: Buffer) => out.push(b));
  const ended = new Promise((resolve, reject) => z.once("end", resolve).once("error", reject));
  let size = 0;
  let crc = 0;
  for (const c of chunks) {
    size += c.length;
    crc = crc32(c, crc);
    if (!z.write(c)) await new Promise((r) => z.once("drain", r));
  }
  z.end();
  await ended;
  return { data: Buffer.concat(out), size, crc };
}

/** A zip archive (deflated entries; sizes and CRCs honest: the server must count what it inflates anyway). */
export async function zip(entries: ZipEntry[]): Promise<Buffer> {
  const parts: ZipPart[] = [];
  for (const e of entries) parts.push({ name: e.name, method: 8, ...(await deflate(e.chunks())) });
  return Buffer.concat(zipArchive(parts));
}

const once = (s: string) => () => [Buffer.from(s, "utf8")];
const XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n';
const MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/**
 * A minimal .xlsx: a header row (序号, 问题描述) and one data row whose description is the shared
 * string `text` generates. Entries in the order Excel writes them (shared strings before the sheet).
 */
export function xlsxWithText(text: () => Iterable<Buffer>): Promise<Buffer> {
  return zip([
    {
      name: "[Content_Types].xml",
      chunks: once(
        `${XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`,
      ),
    },
    { name: "_rels/.rels", chunks: once(`${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>`) },
    { name: "xl/workbook.xml", chunks: once(`${XML}<workbook xmlns="${MAIN}" xmlns:r="${REL}"><sheets><sheet name="问题清单" sheetId="1" r:id="rId1"/></sheets></workbook>`) },
    {
      name: "xl/_rels/workbook.xml.rels",
      chunks: once(
        `${XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${REL}/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="${REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>`,
      ),
    },
    {
      name: "xl/sharedStrings.xml",
      chunks: function* () {
        yield Buffer.from(`${XML}<sst xmlns="${MAIN}" count="4" uniqueCount="4"><si><t>序号</t></si><si><t>问题描述</t></si><si><t>P-1</t></si><si><t>`);
        yield* text();
        yield Buffer.from("</t></si></sst>");
      },
    },
    {
      name: "xl/worksheets/sheet1.xml",
      chunks: once(
        `${XML}<worksheet xmlns="${MAIN}"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row><row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="s"><v>3</v></c></row></sheetData></worksheet>`,
      ),
    },
  ]);
}

/** A zip bomb as an .xlsx: one cell whose shared string inflates to `mb` MB of "A" (about 1 KB of file per MB). */
export function zipBombXlsx(mb: number): Promise<Buffer> {
  const MB = Buffer.alloc(1024 * 1024, "A");
  return xlsxWithText(function* () {
    for (let i = 0; i < mb; i++) yield MB;
  });
}

/** Multipart body parts: text fields, generated lazily (`count` fields of `bytes` bytes each). */
export function* manyFields(boundary: string, count: number, bytes: number, name = (i: number) => `text${i}`): Generator<Buffer> {
  const value = Buffer.alloc(bytes, "x");
  for (let i = 0; i < count; i++) {
    yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name(i)}"\r\n\r\n`);
    yield value;
    yield Buffer.from("\r\n");
  }
  yield Buffer.from(`--${boundary}--\r\n`);
}

/** Multipart body of given text fields and one file. */
export function multipart(boundary: string, fields: [string, string][], file?: { field: string; name: string; type: string; data: Buffer }): Buffer {
  const parts: Buffer[] = fields.map(([k, v]) => Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  if (file)
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${file.field}"; filename="${file.name}"\r\nContent-Type: ${file.type}\r\n\r\n`),
      file.data,
      Buffer.from("\r\n"),
    );
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * Sends a request whose body is written chunk by chunk (with back-pressure) and resolves with the
 * answer, even when the server answers before it has read the whole body (writing then stops). A
 * connection closed without an answer rejects.
 */
export function send(url: string, opts: { method?: string; headers?: Record<string, string | number>; body?: Iterable<Buffer> | Buffer }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = request(url, { method: opts.method ?? "POST", headers: opts.headers }, (res) => {
      answered = true;
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (s: string) => (body += s));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on("error", reject);
    });
    req.on("error", (e) => {
      if (!answered) reject(e);
    });
    void (async () => {
      const body = opts.body === undefined ? [] : Buffer.isBuffer(opts.body) ? [opts.body] : opts.body;
      for (const chunk of body) {
        if (answered || req.destroyed) break;
        if (!req.write(chunk))
          await new Promise<void>((resolve) => {
            const go = () => {
              req.off("drain", go).off("close", go);
              resolve();
            };
            req.on("drain", go).on("close", go);
          });
      }
      if (!req.destroyed) req.end();
    })();
  });
}
