/**
 * Multipart forms, bounded. Every route that takes one reads it through here, and only after the
 * session and the CSRF token were checked (auth.ts: a multipart request carries its token in
 * X-CSRF-Token or in the form action's query, `?_csrf=`, never only inside the body that would have
 * to be read first). Field names with brackets get no deep or sparse arrays (append-field would
 * build `a[1000000000]` as an array that long).
 */
import multer from "multer";

/** Text fields: the longest text a form takes is 20,000 characters (60 KB of UTF-8). */
export const FORM_LIMITS = { fields: 100, fieldSize: 128 * 1024, fieldNameSize: 100, fieldNestingDepth: 1, fieldArrayIndexLimit: 50 } as const;

/** A multipart reader of at most `files` files of `maxFileBytes` each, held in memory, and the form limits above. */
export function formUpload(maxFileBytes: number, files: number): multer.Multer {
  return multer({
    storage: multer.memoryStorage(),
    defParamCharset: "utf8",
    limits: { ...FORM_LIMITS, fileSize: maxFileBytes, files, parts: FORM_LIMITS.fields + files },
  });
}
