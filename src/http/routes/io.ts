/** Import of a feedback list (office), and the ledger and rates as Excel (everyone, each seeing what they may). */
import { Readable } from "node:stream";
import type { Response } from "express";
import { z } from "zod";
import { shanghaiDate } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import type { CaseService } from "../../cases/service.ts";
import { AppError } from "../../errors.ts";
import { writeLedgerXlsx } from "../../io/export/ledger.ts";
import { writeRatesXlsx } from "../../io/export/rates.ts";
import { XLSX_TYPE } from "../../io/export/workbook.ts";
import { importLedger, type ImportReport } from "../../io/import.ts";
import type { ImportLimits } from "../../io/rows.ts";
import { OFFICE, periodOf, qsBool, qsDate, readForm, type Api, type Form } from "../api.ts";
import { ref } from "../contract.ts";
import { formUpload } from "../upload.ts";
import { caseListQuery } from "./cases.ts";

const importQuery = z.strictObject({ dryRun: qsBool("dryRun").default(false) });
const importForm: Form = {
  fields: z.strictObject({
    // An HTML form posts dryRun in the body; either place will do.
    dryRun: z.enum(["true", "false"], { error: "dryRun 应为 true 或 false" }).optional().meta({ description: "true：只预检不写入（也可作为查询参数）" }),
    _csrf: z.string().max(200).optional().meta({ description: "为兼容旧表单而接受，本身不作数：CSRF 令牌须在 X-CSRF-Token 请求头或查询参数 _csrf 中（表单内容在核对令牌之后才读取）" }),
  }),
  file: { name: "file", description: "问题清单：.xlsx，或 CSV（UTF-8 或 GB18030）", types: ["text/csv", XLSX_TYPE] },
};
const reportOr = (description: string) => ({ description, schema: { anyOf: [ref("ImportReport"), ref("Error")] } });
const ratesQuery = z.strictObject({ from: qsDate("from").optional(), to: qsDate("to").optional() });

/** The status an import answers with: 201 created, 200 nothing to do or a preview, 409 conflicts, 422 bad rows, 500 stopped midway. */
function statusOf(report: ImportReport): number {
  switch (report.status) {
    case "imported":
      return 201;
    case "invalid":
      return 422;
    case "conflict":
      return 409;
    case "incomplete":
      return 500;
    default:
      return 200;
  }
}

/** "整改台账-20260302.xlsx" as a download. */
/** The headers of a workbook sent as a download (no caching: it holds the ledger as it is now). */
export function download(res: Response, name: string) {
  res.setHeader("Content-Type", XLSX_TYPE);
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Cache-Control", "no-store");
  res.attachment(name);
}

export function ioRoutes(api: Api, deps: { service: CaseService; clock: Clock; maxUploadBytes: number; importLimits: ImportLimits }) {
  const { service, clock } = deps;
  const upload = formUpload(deps.maxUploadBytes, 1);

  api.add({
    method: "post",
    path: "/imports",
    tag: "io",
    summary:
      "导入问题清单（整改办；multipart，字段名 file；.xlsx 或 CSV（UTF-8 或 GB18030）；dryRun=true 只预检不写入）。全部行无误才写入，否则列出每处错误、一行也不写入",
    roles: OFFICE,
    query: importQuery,
    form: importForm,
    returns: "the import report {status, message, rows, toCreate, created, unchanged, errors, conflicts, written, preview}",
    response: { schema: ref("ImportReport") },
    status: 201,
    errors: {
      200: { description: "没有要写入的：全部未变（unchanged），或只预检（preview）", schema: ref("ImportReport") },
      409: { description: "有的行与台账中同一序号的案件不一致（conflicts），一行也未写入", schema: ref("ImportReport") },
      413: "文件过大：上传超过 MAX_UPLOAD_MB，.xlsx 解压后超过 IMPORT_MAX_UNZIPPED_MB，或超过 IMPORT_MAX_ROWS 行；或表单字段过多、过长",
      422: reportOr("有错误的行（errors，一行也未写入），或没有文件、文件无法识别、单元格超过 IMPORT_MAX_CELL_CHARS 个字符、表单字段不正确"),
      500: { description: "写入中途失败：报告列出已写入的行，再次导入同一文件即可补全", schema: ref("ImportReport") },
    },
    async handle({ req, res, actor, query }) {
      const { file, fields } = await readForm<{ dryRun?: "true" | "false" }>(req, res, upload, importForm);
      if (!file) throw new AppError(422, "invalid_fields", "请选择要导入的文件", { fields: [{ field: "file", message: "请选择要导入的文件" }] });
      const dryRun = query.dryRun || fields.dryRun === "true";
      const report = await importLedger(Readable.from([file.buffer]), { fileName: file.originalname, service, actor, clock, dryRun, limits: deps.importLimits });
      res.status(statusOf(report)).json(report);
      return undefined;
    },
  });

  api.add({
    method: "get",
    path: "/exports/ledger.xlsx",
    tag: "io",
    summary: "导出整改台账（Excel；筛选条件同 GET /api/cases，page、pageSize 不起作用：导出全部符合条件的案件；单位只导出本单位的案件）",
    query: caseListQuery,
    returns: "an .xlsx file",
    response: { types: [XLSX_TYPE] },
    async handle({ res, actor, query }) {
      const { page: _page, pageSize: _pageSize, ...filter } = query;
      const now = clock.now();
      download(res, `整改台账-${shanghaiDate(now).replaceAll("-", "")}.xlsx`);
      await writeLedgerXlsx(res, actor, filter, now);
      return undefined;
    },
  });

  api.add({
    method: "get",
    path: "/exports/rates.xlsx",
    tag: "io",
    summary: "导出统计（Excel）：各单位及合计的受理率、查处率、结案率、回复率、按期办结率、按期整改率，指标说明，考评（单位只看到本单位）",
    query: ratesQuery,
    returns: "an .xlsx file",
    response: { types: [XLSX_TYPE] },
    async handle({ res, actor, query }) {
      const now = clock.now();
      const { from, to } = periodOf(query, shanghaiDate(now));
      download(res, `整改统计-${from.replaceAll("-", "")}-${to.replaceAll("-", "")}.xlsx`);
      await writeRatesXlsx(res, actor, { from, to }, now);
      return undefined;
    },
  });
}
