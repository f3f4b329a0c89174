/**
 * 导入问题清单 in the browser: upload → preview (the importer's dry run) → confirm → result, with the
 * importer the CLI and POST /api/imports use. The file is kept between preview and confirmation
 * (io/stash.ts), so the confirmed import is the previewed file. Both runs answer as a streamed page:
 * a progress bar per step as the importer reports rows read and cases written (a large list takes a
 * while), then the report. Without JavaScript, and on any web process.
 */
import { Readable } from "node:stream";
import express, { type Request, type Response } from "express";
import { isOfficeRole, shanghaiDate } from "../../../workflows/index.ts";
import { unitChoices } from "../../directory.ts";
import { AppError } from "../../errors.ts";
import { XLSX_TYPE } from "../../io/export/workbook.ts";
import { importLedger, type ImportProgress, type ImportReport } from "../../io/import.ts";
import { openRows } from "../../io/rows.ts";
import { dropStash, openStash, stashUpload } from "../../io/stash.ts";
import { importTemplate } from "../../io/template.ts";
import { assertCsrf, csrfToken } from "../auth.ts";
import { formUpload } from "../upload.ts";
import type { PageDeps } from "./index.ts";
import { actorOf, meOf, render } from "./render.ts";

const MARK = "<!--progress-->";
/** At most one progress line this often (a 10,000-row list reports every row). */
const PROGRESS_EVERY_MS = 250;

const STATUS_LABELS: Record<string, string> = {
  preview: "预检通过",
  invalid: "有错误，未写入",
  conflict: "与台账不一致，未写入",
  imported: "导入完成",
  unchanged: "无需更改",
  incomplete: "导入中断",
};

export function importPages(deps: PageDeps): express.Router {
  const router = express.Router();
  const upload = formUpload(deps.maxUploadBytes, 1);

  router.use("/cases/import", (_req, res, next) => {
    const actor = actorOf(res);
    if (!actor || !isOfficeRole(actor.role)) throw new AppError(403, "forbidden", "只有整改办可以导入问题清单");
    next();
  });

  const form = (req: Request, res: Response, error: string | null = null, status = 200) => render(req, res, "import", { title: "导入问题清单", error }, status);

  router.get("/cases/import", (req, res) => {
    form(req, res);
  });

  /** The template: the columns, an example row naming real units, and the notes. */
  router.get("/cases/import/template.xlsx", async (_req, res) => {
    const body = await importTemplate(await unitChoices(), shanghaiDate(deps.clock.now()));
    res.setHeader("Content-Type", XLSX_TYPE);
    res.setHeader("X-Content-Type-Options", "nosniff");
    res.setHeader("Cache-Control", "no-store");
    res.attachment("问题清单模板.xlsx");
    res.end(body);
  });

  router.post("/cases/import", upload.single("file"), async (req, res) => {
    assertCsrf(req);
    const file = (req as Request & { file?: Express.Multer.File }).file;
    if (!file?.size) return form(req, res, "请选择要导入的问题清单文件（.xlsx 或 .csv）", 422);
    // A file past the limits is refused here, with the error page's status, before the streamed page starts (200).
    await openRows(Readable.from([file.buffer]), deps.importLimits);
    const stash = await stashUpload(file, actorOf(res)!, deps.clock.now());
    await run(req, res, "导入问题清单：预检", stash, file.originalname, file.buffer, true);
  });

  router.post("/cases/import/:stash/confirm", async (req, res) => {
    assertCsrf(req);
    const stash = String(req.params.stash);
    const { buffer, name } = await openStash(stash, actorOf(res)!);
    await run(req, res, "导入问题清单：导入", stash, name, buffer, false);
  });

  /** Streams the page: its top, a progress line per step, the report, its bottom. */
  async function run(req: Request, res: Response, title: string, stash: string, fileName: string, buffer: Buffer, dryRun: boolean) {
    const base = { me: meOf(actorOf(res)), csrf: csrfToken(req), path: "/cases/import", title };
    const page = await renderView(res, "pages/import-run", { ...base, fileName, dryRun });
    const [head, tail] = page.split(MARK) as [string, string];
    res.status(200).type("html").setHeader("Cache-Control", "no-store");
    const send = (html: string) => {
      res.write(html);
      // The compression middleware holds output until flushed.
      (res as Response & { flush?: () => void }).flush?.();
    };
    send(head);
    let last = 0;
    const onProgress = (p: ImportProgress) => {
      const now = Date.now();
      if (now - last < PROGRESS_EVERY_MS) return;
      last = now;
      send(
        p.phase === "read"
          ? `<p class="step"><progress aria-label="读取进度"></progress> 已读取并检查 ${p.done} 行…</p>\n`
          : `<p class="step"><progress aria-label="写入进度" value="${p.done}" max="${p.total ?? p.done}"></progress> 已写入 ${p.done} / ${p.total ?? "?"} 项…</p>\n`,
      );
    };
    let report: ImportReport | null = null;
    let error: string | null = null;
    try {
      report = await importLedger(Readable.from([buffer]), { fileName, service: deps.service, actor: actorOf(res)!, clock: deps.clock, dryRun, onProgress, limits: deps.importLimits });
      if (!dryRun && (report.status === "imported" || report.status === "unchanged")) await dropStash(stash);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500) req.log?.error({ err: e }, "import failed");
      error = e instanceof AppError && e.status < 500 ? e.message : "导入时系统出错，请稍后重试；已写入的行在重新导入同一文件时会被识别为与台账一致";
    }
    send(`<p class="step done">${error ? "已停止" : "已完成"}</p>\n`);
    send(
      await renderView(res, "partials/importReport", {
        layout: false,
        report,
        error,
        stash,
        csrf: csrfToken(req),
        statusLabel: report ? STATUS_LABELS[report.status] : null,
        ok: report && (report.status === "preview" || report.status === "imported" || report.status === "unchanged"),
        canConfirm: !!report && dryRun && report.status === "preview" && report.toCreate > 0,
        hidden: report ? Math.max(0, report.toCreate - report.preview.length) : 0,
      }),
    );
    res.end(tail);
  }

  return router;
}

function renderView(res: Response, view: string, data: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) => res.app.render(view, data, (err: Error | null, html?: string) => (err ? reject(err) : resolve(html ?? ""))));
}
