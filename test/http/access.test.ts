/**
 * An access matrix: every route of the API table × every role, against the real app, with a world of
 * three cases in three units. Besides the status, every response a unit user receives is searched for
 * anything that identifies another unit's case (ids, ledger numbers, titles, attachments, notices) and
 * for the complainant's raw identity; every refused write and every write a leader sends must leave the
 * database exactly as it was.
 */
import { expect } from "chai";
import mongoose from "mongoose";
import type request from "supertest";
import { loadConfig } from "../../src/config.ts";
import { Notice, } from "../../src/db/models.ts";
import { buildApi } from "../../src/http/app.ts";
import { maskComplainant } from "../../src/http/present.ts";
import { DigestIssuer } from "../../src/notices/digest.ts";
import { loadRules } from "../../src/notices/rules.ts";
import { useApp } from "../support/app.ts";
import { PNG, newInspection, type World } from "../support/fixtures.ts";
import type { Signed } from "../support/http.ts";
import { ledgerState } from "../support/ledger.ts";

const WHO = ["admin", "staff", "leader", "lead", "co", "other"] as const;
type Who = (typeof WHO)[number];
const UNIT_USERS: readonly Who[] = ["lead", "co", "other"];
type Method = "get" | "post" | "put" | "patch";

const COMPLAINANT = { name: "李四", phone: "13800001234", address: "某小区3栋" };
const MASKED = { name: "李*", phone: "138****1234", address: "（已隐藏）" };

interface CaseFx {
  id: string;
  ledger: string;
  title: string;
  attachment: string;
  attachmentName: string;
  notice: string;
  noticeNumber: string;
}
interface Fx {
  A: CaseFx;
  B: CaseFx;
  C: { id: string; ledger: string; title: string };
  units: World["units"];
  userIds: Record<Who, string>;
  ruleId: string;
}

type Res = request.Response;
interface Row {
  /** "METHOD /path" exactly as in the route table. */
  route: string;
  /** What the row exercises (for the test title). */
  what: string;
  url: (f: Fx) => string;
  body?: (f: Fx, who: Who) => object;
  /** Multipart upload of the test PNG under this file name. */
  upload?: string;
  /** Expected status per role, run in this order (refused roles first where the allowed ones write). */
  expect: Partial<Record<Who, number>>;
  check?: (res: Res, who: Who, f: Fx) => void | Promise<void>;
  /** The one write a leader may make (领导批示): exempt from "a leader's write leaves the database as it was". */
  leaderWrites?: boolean;
}

const all = (status: number): Record<Who, number> => ({ admin: status, staff: status, leader: status, lead: status, co: status, other: status });
/** Admin-only routes: everyone else is refused first, then the admin does it. */
const adminOnly = (ok: number) => ({ staff: 403, leader: 403, lead: 403, co: 403, other: 403, admin: ok });

const ids = (res: Res) => (res.body.items as { id: string }[]).map((i) => i.id);
const errorCode = (code: string) => (res: Res) => {
  if (res.status >= 400) expect(res.body.error?.code, "error code").to.equal(code);
};

const ROWS: Row[] = [
  // ---- reads: the world as built -------------------------------------------------------------
  {
    route: "GET /cases",
    what: "the ledger lists only what the role may see; complainant masked for units",
    url: () => "/api/cases",
    expect: all(200),
    check(res, who, f) {
      const seen = { admin: [f.A, f.B, f.C], staff: [f.A, f.B, f.C], leader: [f.A, f.B, f.C], lead: [f.A, f.C], co: [f.A], other: [f.B] }[who].map((c) => c.id);
      expect(ids(res)).to.have.members(seen);
      expect(res.body.total).to.equal(seen.length);
      const c = (res.body.items as { id: string; complainant: unknown }[]).find((i) => i.id === f.C.id);
      if (who === "lead") expect(c?.complainant).to.deep.equal(MASKED);
      if (who === "admin" || who === "staff") expect(c?.complainant).to.deep.include(COMPLAINANT);
    },
  },
  {
    route: "GET /cases",
    what: "search by A's title finds A only for those who see A",
    url: (f) => `/api/cases?q=${encodeURIComponent(f.A.title)}`,
    expect: all(200),
    check(res, who, f) {
      expect(res.body.total).to.equal(who === "other" ? 0 : 1);
      expect(ids(res)).to.deep.equal(who === "other" ? [] : [f.A.id]);
    },
  },
  {
    route: "GET /cases",
    what: "search and unit filter by another unit's number or id find nothing",
    url: (f) => `/api/cases?q=${encodeURIComponent(f.B.ledger)}&unit=${f.units.other}`,
    expect: all(200),
    check(res, who, f) {
      expect(ids(res)).to.deep.equal(["lead", "co"].includes(who) ? [] : [f.B.id]);
      expect(res.body.total).to.equal(["lead", "co"].includes(who) ? 0 : 1);
    },
  },
  {
    route: "GET /cases/:id",
    what: "case A (lead unit, co-unit)",
    url: (f) => `/api/cases/${f.A.id}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 200, co: 200, other: 404 },
    check(res, who, f) {
      errorCode("not_found")(res);
      if (res.status !== 200) return;
      expect(res.body.case).to.include({ id: f.A.id, ledgerNumber: f.A.ledger, title: f.A.title });
      expect(res.body.attachments.map((a: { id: string }) => a.id)).to.include(f.A.attachment);
      // A leader changes nothing but may write a 批示.
      if (who === "leader") expect(res.body.allowedEvents).to.deep.equal(["INSTRUCT"]);
      if (who === "co") expect(res.body.allowedEvents).to.include("REPORT_PROGRESS").and.not.include("SUBMIT");
      if (who === "lead") expect(res.body.allowedEvents).to.include("SUBMIT");
      // A unit sees the notices addressed to it, never another unit's.
      const noticeIds = res.body.notices.map((n: { id: string }) => n.id);
      if (who === "co") expect(noticeIds).to.deep.equal([]);
      if (who === "lead" || who === "admin") expect(noticeIds).to.include(f.A.notice);
    },
  },
  {
    route: "GET /cases/:id",
    what: "case B (other unit)",
    url: (f) => `/api/cases/${f.B.id}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 404, co: 404, other: 200 },
    check(res, _who, f) {
      errorCode("not_found")(res);
      if (res.status === 200) expect(res.body.case).to.include({ id: f.B.id, ledgerNumber: f.B.ledger });
    },
  },
  {
    route: "GET /cases/:id",
    what: "complaint C: identity for the office, masked for the unit",
    url: (f) => `/api/cases/${f.C.id}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 200, co: 404, other: 404 },
    check(res, who) {
      errorCode("not_found")(res);
      if (who === "admin" || who === "staff") expect(res.body.case.complainant).to.deep.include(COMPLAINANT);
      if (who === "lead") expect(res.body.case.complainant).to.deep.equal(MASKED);
    },
  },
  {
    route: "GET /attachments/:id",
    what: "A's attachment",
    url: (f) => `/api/attachments/${f.A.attachment}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 200, co: 200, other: 404 },
    check(res) {
      errorCode("not_found")(res);
      if (res.status === 200) {
        expect(res.headers["content-type"]).to.equal("image/png");
        expect(Buffer.compare(res.body as Buffer, PNG)).to.equal(0);
      }
    },
  },
  {
    route: "GET /attachments/:id",
    what: "B's attachment",
    url: (f) => `/api/attachments/${f.B.attachment}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 404, co: 404, other: 200 },
    check: errorCode("not_found"),
  },
  {
    route: "GET /stats",
    what: "figures count only visible cases",
    url: () => "/api/stats",
    expect: all(200),
    check(res, who) {
      const total = { admin: 3, staff: 3, leader: 3, lead: 2, co: 1, other: 1 }[who];
      expect(res.body.total).to.equal(total);
      const byState = res.body.byState as Record<string, number>;
      expect(Object.values(byState).reduce((a, b) => a + b, 0)).to.equal(total);
      if (who === "other" || who === "co") {
        expect(byState).to.deep.equal({ "inspection:rectifying.working": 1 });
        expect(res.body.complaints.received).to.equal(0);
      }
      if (who === "lead") expect(res.body.complaints.received).to.equal(1);
    },
  },
  {
    route: "GET /stats",
    what: "figures filtered to another unit count nothing",
    url: (f) => `/api/stats?unit=${f.units.lead}`,
    expect: all(200),
    check(res, who) {
      expect(res.body.total).to.equal({ admin: 2, staff: 2, leader: 2, lead: 2, co: 1, other: 0 }[who]);
    },
  },
  {
    route: "GET /notices",
    what: "inbox: a unit sees the notices delivered to it",
    url: () => "/api/notices",
    expect: all(200),
    check(res, who, f) {
      const seen = { admin: [f.A, f.B], staff: [f.A, f.B], leader: [f.A, f.B], lead: [f.A], co: [], other: [f.B] }[who].map((c) => c.notice);
      expect(ids(res)).to.have.members(seen);
    },
  },
  {
    route: "GET /notices",
    what: "a unit's ?unit= filter cannot widen its inbox",
    url: (f) => `/api/notices?unit=${f.units.lead}`,
    expect: all(200),
    check(res, who, f) {
      expect(ids(res)).to.deep.equal({ admin: [f.A.notice], staff: [f.A.notice], leader: [f.A.notice], lead: [f.A.notice], co: [], other: [f.B.notice] }[who]);
    },
  },
  {
    route: "GET /digests",
    what: "晨报: the office sees every digest, a unit only its own, a leader only their own (none on record)",
    url: () => "/api/digests",
    expect: all(200),
    check(res, who, f) {
      const unitOf = { lead: f.units.lead, co: f.units.co, other: f.units.other } as Record<string, string>;
      const seen = ids(res);
      if (who === "admin" || who === "staff") expect(seen).to.have.length(4).and.include("digest-2026-03-02-office");
      else if (who === "leader") expect(seen).to.deep.equal([]);
      else expect(seen).to.deep.equal([`digest-2026-03-02-unit-${unitOf[who]}`]);
      expect(res.body.total).to.equal(seen.length);
    },
  },
  {
    route: "GET /notices/:id",
    what: "A's supervision notice",
    url: (f) => `/api/notices/${f.A.notice}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 200, co: 404, other: 404 },
    check(res, _who, f) {
      errorCode("not_found")(res);
      if (res.status === 200) expect(res.body).to.include({ id: f.A.notice, number: f.A.noticeNumber, caseId: f.A.id });
    },
  },
  {
    route: "GET /notices/:id",
    what: "B's supervision notice",
    url: (f) => `/api/notices/${f.B.notice}`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 404, co: 404, other: 200 },
    check: errorCode("not_found"),
  },
  {
    route: "GET /notices/:id/document",
    what: "A's printable notice",
    url: (f) => `/api/notices/${f.A.notice}/document`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 200, co: 404, other: 404 },
    check(res, _who, f) {
      errorCode("not_found")(res);
      if (res.status === 200) {
        expect(res.headers["content-type"]).to.match(/^text\/html/);
        expect(res.text).to.contain(f.A.noticeNumber).and.contain(f.A.title);
      }
    },
  },
  {
    route: "GET /notices/:id/document",
    what: "B's printable notice",
    url: (f) => `/api/notices/${f.B.notice}/document`,
    expect: { admin: 200, staff: 200, leader: 200, lead: 404, co: 404, other: 200 },
    check: errorCode("not_found"),
  },
  {
    route: "GET /units",
    what: "unit names for all; contacts and channels for the admin only",
    url: () => "/api/units",
    expect: all(200),
    check(res, who) {
      expect(res.body.items).to.have.length(3);
      for (const u of res.body.items) {
        if (who === "admin") expect(u).to.have.property("notify");
        else expect(u).to.not.have.any.keys("contacts", "notify");
      }
    },
  },
  {
    route: "GET /users",
    what: "user list",
    url: () => "/api/users",
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) {
        expect(res.body.items.map((u: { username: string }) => u.username)).to.have.members([...WHO]);
        expect(JSON.stringify(res.body)).to.not.contain("passwordHash").and.not.contain("$argon2");
      }
    },
  },
  {
    route: "GET /rules",
    what: "notice rules",
    url: () => "/api/rules",
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "GET /scorecard",
    what: "the scorecard: a unit its own figures only",
    url: (f) => `/api/scorecard?unit=${f.units.lead}`,
    expect: all(200),
    check(res, who, f) {
      const names = res.body.units.map((u: { unitId: string }) => u.unitId);
      if (who === "co" || who === "other") expect(names.every((u: string) => u === (who === "co" ? f.units.co : f.units.other))).to.equal(true);
    },
  },
  {
    route: "GET /bulletin",
    what: "the monthly 通报: a unit its own row, rank and the city's totals",
    url: () => "/api/bulletin?month=2026-03",
    expect: all(200),
    check(res, who, f) {
      if (who === "co" || who === "other" || who === "lead")
        expect(res.body.rows.map((r: { unitId: string }) => r.unitId).every((u: string) => u === f.units[who === "co" ? "co" : who === "lead" ? "lead" : "other"])).to.equal(true);
    },
  },
  {
    route: "GET /bulletin/cases",
    what: "the cases behind a 通报 figure: a unit its own only",
    url: (f) => `/api/bulletin/cases?month=2026-03&unit=${f.units.lead}&figure=held`,
    expect: all(200),
  },
  {
    route: "GET /exports/bulletin.xlsx",
    what: "the 通报 as Excel, for every role",
    url: () => "/api/exports/bulletin.xlsx?month=2026-03",
    expect: all(200),
    check(res) {
      expect(res.headers["content-type"]).to.equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    },
  },
  {
    route: "GET /bulletins",
    what: "the year's issued bulletins (number, month, office, date), for every role",
    url: () => "/api/bulletins?year=2026",
    expect: all(200),
  },
  {
    route: "POST /bulletins",
    what: "发布 a month's 通报 is the office's; the month's second issue is refused",
    url: () => "/api/bulletins",
    body: () => ({ month: "2026-02" }),
    expect: { leader: 403, lead: 403, co: 403, other: 403, staff: 201, admin: 409 },
    check(res, who) {
      errorCode(who === "admin" ? "already_issued" : "forbidden")(res);
    },
  },
  {
    route: "GET /settings",
    what: "the office's settings",
    url: () => "/api/settings",
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "GET /texts",
    what: "notice texts",
    url: () => "/api/texts",
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "POST /texts/:level/preview",
    what: "preview a notice text (writes nothing)",
    url: () => "/api/texts/red/preview",
    body: () => ({ title: "红色预警", body: "{编号}已超期{超期天数}天。", replyDays: 2 }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.samples.map((s: { paragraphs: string[] }) => s.paragraphs[0])).to.deep.equal(["ZY2-03已超期3天。", "XF-2026-000123已超期3天。"]);
    },
  },

  // ---- writes: refused roles first (nothing may change), then the allowed ones ----------------
  ...(["read", "ack"] as const).flatMap((mark): Row[] => [
    {
      route: `POST /notices/:id/${mark}`,
      what: `${mark} receipt on A's notice`,
      url: (f) => `/api/notices/${f.A.notice}/${mark}`,
      // Receipts are the addressee's: the office and the leader read notices without leaving one.
      expect: { leader: 403, admin: 403, staff: 403, other: 404, co: 404, lead: 200 },
      async check(res, who, f) {
        if (who === "lead") {
          expect(res.body[mark === "read" ? "readAt" : "ackAt"]).to.be.a("string");
          const n = await Notice.findById(f.A.notice).lean();
          expect(n?.[mark === "read" ? "readBy" : "ackBy"]).to.equal(f.userIds.lead);
        }
      },
    },
    {
      route: `POST /notices/:id/${mark}`,
      what: `${mark} receipt on B's notice`,
      url: (f) => `/api/notices/${f.B.notice}/${mark}`,
      expect: { leader: 403, admin: 403, staff: 403, lead: 404, co: 404, other: 200 },
    },
  ]),
  {
    route: "POST /cases/:id/events",
    what: "progress on A: lead and co-unit only",
    url: (f) => `/api/cases/${f.A.id}/events`,
    body: (_f, who) => ({ type: "REPORT_PROGRESS", payload: { percent: 40, text: `${who} 报送进展` } }),
    expect: { leader: 403, other: 404, admin: 403, staff: 403, co: 200, lead: 200 },
    check(res) {
      if (res.status === 403) expect(res.body.error.code).to.equal("forbidden");
      if (res.status === 200) expect(res.body.case.progressPercent).to.equal(40);
    },
  },
  {
    route: "POST /cases/:id/events",
    what: "progress on B: only the other unit",
    url: (f) => `/api/cases/${f.B.id}/events`,
    body: () => ({ type: "REPORT_PROGRESS", payload: { percent: 10, text: "住建局报送进展" } }),
    expect: { leader: 403, lead: 404, co: 404, admin: 403, staff: 403, other: 200 },
  },
  {
    route: "POST /cases/:id/events",
    what: "progress on complaint C: the assigned unit only",
    url: (f) => `/api/cases/${f.C.id}/events`,
    body: () => ({ type: "REPORT_PROGRESS", payload: { percent: 50, text: "已现场核查" } }),
    expect: { leader: 403, co: 404, other: 404, admin: 403, staff: 403, lead: 200 },
  },
  {
    route: "POST /cases/:id/events",
    what: "SUBMIT on A: the lead unit only (co-unit 403)",
    url: (f) => `/api/cases/${f.A.id}/events`,
    body: (f) => ({ type: "SUBMIT", payload: { summary: "已全部淘汰", attachmentIds: [f.A.attachment] } }),
    expect: { leader: 403, other: 404, co: 403, admin: 403, staff: 403, lead: 200 },
    check(res) {
      if (res.status === 200) expect(res.body.case.state).to.equal("verifying");
    },
  },
  {
    route: "POST /cases/:id/events",
    what: "领导批示 on A: the leader only (another unit 404)",
    url: (f) => `/api/cases/${f.A.id}/events`,
    body: () => ({ type: "INSTRUCT", payload: { text: "请加快进度" } }),
    expect: { other: 404, lead: 403, co: 403, admin: 403, staff: 403, leader: 200 },
    leaderWrites: true,
    check(res, who) {
      if (who !== "other") errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.entry.type).to.equal("INSTRUCT");
    },
  },
  {
    route: "POST /cases/:id/events",
    what: "落实情况 of A's 批示: the office only, once",
    url: (f) => `/api/cases/${f.A.id}/events`,
    body: () => ({ type: "CARRY_OUT", payload: { instruction: 1, text: "已督促落实" } }),
    expect: { other: 404, lead: 403, co: 403, leader: 403, staff: 200, admin: 422 },
  },
  {
    route: "POST /cases/:id/attachments",
    what: "upload to A",
    url: (f) => `/api/cases/${f.A.id}/attachments`,
    upload: "补充材料.png",
    expect: { leader: 403, other: 404, admin: 201, staff: 201, co: 201, lead: 201 },
  },
  {
    route: "POST /cases/:id/attachments",
    what: "upload to B",
    url: (f) => `/api/cases/${f.B.id}/attachments`,
    upload: "补充材料.png",
    expect: { leader: 403, lead: 404, co: 404, admin: 201, staff: 201, other: 201 },
  },
  {
    route: "POST /cases/:id/notices",
    what: "notice by hand on A (office)",
    url: (f) => `/api/cases/${f.A.id}/notices`,
    body: () => ({ level: "red", requirement: "请于三日内报送整改进展" }),
    expect: { leader: 403, lead: 403, co: 403, other: 403, admin: 201, staff: 201 },
    check(res, _who, f) {
      errorCode("forbidden")(res);
      if (res.status === 201) expect(res.body).to.include({ caseId: f.A.id, level: "red", unitId: f.units.lead });
    },
  },
  {
    route: "POST /cases/batch/events",
    what: "a batch over A and B: each row judged for the caller, another unit's case refused as not found (SIGN is not allowed now: nothing is written)",
    url: () => "/api/cases/batch/events",
    body: (f) => ({ ids: [f.A.id, f.B.id], type: "SIGN", payload: {} }),
    expect: all(200),
    check(res, who, f) {
      const rows = res.body.rows as { n: number; id: string | null; ledgerNumber: string | null; ok: boolean; message: string }[];
      expect(rows.map((r) => r.ok)).to.deep.equal([false, false]);
      // What the caller may not see comes back by its place in the request alone.
      const sees = { admin: [f.A, f.B], staff: [f.A, f.B], leader: [f.A, f.B], lead: [f.A], co: [f.A], other: [f.B] }[who].map((c) => c.id);
      expect(rows.map((r) => r.id)).to.deep.equal([f.A.id, f.B.id].map((id) => (sees.includes(id) ? id : null)));
      for (const r of rows) if (r.id === null) expect(r).to.deep.equal({ n: r.n, id: null, ledgerNumber: null, title: null, ok: false, message: "案件不存在或无权查看" });
    },
  },
  {
    route: "POST /cases/batch/assign-planned",
    what: "按清单交办 (office) over A and B: both assigned already, so each is named and refused; a unit or leader is refused the whole batch",
    url: () => "/api/cases/batch/assign-planned",
    body: (f) => ({ ids: [f.A.id, f.B.id] }),
    expect: { leader: 403, lead: 403, co: 403, other: 403, admin: 200, staff: 200 },
    check(res, _who, f) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.rows.map((r: { id: string; ok: boolean }) => [r.id, r.ok])).to.deep.equal([[f.A.id, false], [f.B.id, false]]);
    },
  },
  {
    route: "POST /cases/batch/notices",
    what: "a batch 催办 (office) over a case that does not exist: named as not found, nothing issued",
    url: () => "/api/cases/batch/notices",
    body: () => ({ ids: ["000000000000000000000000"], level: "due_reminder", requirement: "请加快办理" }),
    expect: { leader: 403, lead: 403, co: 403, other: 403, admin: 201, staff: 201 },
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 201) expect(res.body).to.deep.include({ done: 0, failed: 1 });
    },
  },
  {
    route: "POST /notices/ack",
    what: "batch acknowledgement (the addressee only: a unit for its inbox, office staff for the office's): a notice that is not in the caller's inbox is refused as not found",
    url: () => "/api/notices/ack",
    body: () => ({ ids: ["no-such-notice"] }),
    expect: { admin: 200, staff: 200, leader: 403, lead: 200, co: 200, other: 200 },
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.items).to.deep.equal([{ id: "no-such-notice", ok: false, label: "no-such-notice", message: "通知不存在或无权查看" }]);
    },
  },
  {
    route: "POST /cases",
    what: "register a case (office)",
    url: () => "/api/cases",
    body: (_f, who) => ({ ...newInspection(), ledgerNumber: `ZY2-NEW-${who}`, title: `新登记问题（${who}）` }),
    expect: { leader: 403, lead: 403, co: 403, other: 403, admin: 201, staff: 201 },
    check: errorCode("forbidden"),
  },
  {
    route: "POST /units",
    what: "add a unit",
    url: () => "/api/units",
    body: (_f, who) => ({ name: `新单位-${who}` }),
    expect: adminOnly(201),
    check: errorCode("forbidden"),
  },
  {
    route: "PATCH /units/:id",
    what: "edit a unit",
    url: (f) => `/api/units/${f.units.other}`,
    body: (_f, who) => ({ shortName: `住建-${who}` }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.shortName).to.equal("住建-admin");
    },
  },
  {
    route: "GET /addressees",
    what: "the office's and leaders' channels and contacts: the admin's alone",
    url: () => "/api/addressees",
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(ids(res)[0]).to.equal("office");
    },
  },
  {
    route: "POST /addressees",
    what: "add a leader",
    url: () => "/api/addressees",
    body: (_f, who) => ({ name: `领导-${who}` }),
    expect: adminOnly(201),
    check: errorCode("forbidden"),
  },
  {
    route: "PATCH /addressees/:id",
    what: "edit the office's channels and contacts",
    url: () => "/api/addressees/office",
    body: () => ({ contacts: [{ name: "张三", role: "staff", mobile: "13800000001" }] }),
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "POST /addressees/:id/remove",
    what: "remove a leader (none such: 404 for the admin)",
    url: () => "/api/addressees/leader-000000000000/remove",
    body: () => ({}),
    expect: adminOnly(404),
    check: (res, who) => errorCode(who === "admin" ? "not_found" : "forbidden")(res),
  },
  {
    route: "POST /addressees/:id/test-message",
    what: "发送测试消息 to the office (no robot set: told so, nothing sent)",
    url: () => "/api/addressees/office/test-message",
    body: () => ({ channel: "feishu" }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body).to.deep.include({ ok: false, answer: "未配置飞书机器人" });
    },
  },
  {
    route: "GET /sms-settings",
    what: "the SMS account (the secret never shown): the admin's alone",
    url: () => "/api/sms-settings",
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body).to.include.keys("signName", "templateCode", "secretSet", "sample").and.not.have.property("accessKeySecret");
    },
  },
  {
    route: "POST /sms-settings/test-message",
    what: "a test SMS (no account set: told so, nothing sent)",
    url: () => "/api/sms-settings/test-message",
    body: () => ({ mobile: "13800000001" }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body.ok).to.equal(false);
    },
  },
  {
    route: "PUT /sms-settings",
    what: "save the SMS account",
    url: () => "/api/sms-settings",
    body: () => ({ signName: "某市整改办", templateCode: "SMS_465000001", templateText: "请登录整改系统查看新的通知。", accessKeyId: "LTAI5tAccessMatrix01", accessKeySecret: "AccessMatrixSecret000000000001" }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body).to.include({ signName: "某市整改办", secretSet: true }).and.not.have.property("accessKeySecret");
      expect(JSON.stringify(res.body)).to.not.contain("AccessMatrixSecret");
    },
  },
  {
    route: "POST /units/:id/test-message",
    what: "发送测试消息 to a unit",
    url: (f) => `/api/units/${f.units.other}/test-message`,
    body: () => ({ channel: "wecom" }),
    expect: adminOnly(200),
    check(res) {
      errorCode("forbidden")(res);
      if (res.status === 200) expect(res.body).to.deep.include({ ok: false, answer: "未配置企业微信机器人" });
    },
  },
  {
    route: "POST /users",
    what: "add a user",
    url: () => "/api/users",
    body: (_f, who) => ({ username: `new-${who}`, displayName: "新用户", password: "another-long-password", role: "office_staff" }),
    expect: adminOnly(201),
    check: errorCode("forbidden"),
  },
  {
    route: "PATCH /users/:id",
    what: "edit a user (even one's own role)",
    url: (f) => `/api/users/${f.userIds.other}`,
    body: () => ({ role: "office_admin" }),
    expect: { staff: 403, leader: 403, lead: 403, co: 403, other: 403 },
    check: errorCode("forbidden"),
  },
  {
    route: "PATCH /users/:id",
    what: "edit a user's name (admin)",
    url: (f) => `/api/users/${f.userIds.co}`,
    body: () => ({ displayName: "水务局联络员" }),
    expect: adminOnly(200),
    check(res) {
      if (res.status === 200) expect(res.body).to.include({ displayName: "水务局联络员", role: "unit_user" });
    },
  },
  {
    route: "PUT /rules/:id",
    what: "edit a notice rule",
    url: (f) => `/api/rules/${f.ruleId}`,
    body: () => ({ clause: "整改工作督办制度第五条" }),
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "PUT /settings",
    what: "edit the office's settings",
    url: () => "/api/settings",
    body: () => ({ issuerMark: "某市整改办", signer: "某市整改办", contactName: "王敏", contactPhone: "0371-12345678", cc: "", verificationTerm: "验收" }),
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "PUT /texts/:level",
    what: "edit a notice text",
    url: () => "/api/texts/due_reminder",
    body: () => ({ title: "到期提醒", body: "{编号}将于{期限}到期。", replyDays: 5 }),
    expect: adminOnly(200),
    check: errorCode("forbidden"),
  },
  {
    route: "POST /imports",
    what: "importing a list is the office's (a PNG is no list: 422 for the office, and nothing written)",
    url: () => "/api/imports",
    upload: "清单.png",
    expect: { leader: 403, lead: 403, co: 403, other: 403, admin: 422, staff: 422 },
    check(res, who) {
      expect(res.body.error?.code).to.equal(who === "admin" || who === "staff" ? "import_bad_file" : "forbidden");
    },
  },
  {
    route: "GET /exports/ledger.xlsx",
    what: "the ledger as Excel, for every role (what each role's file holds is tested in test/io/api.test.ts)",
    url: () => "/api/exports/ledger.xlsx",
    expect: all(200),
    check(res) {
      expect(res.headers["content-type"]).to.equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    },
  },
  {
    route: "GET /ledger/checkpoint",
    what: "no checkpoint key configured: the same clear 404 for everyone",
    url: () => "/api/ledger/checkpoint",
    expect: all(404),
    check: errorCode("no_checkpoint"),
  },
  {
    route: "GET /ledger/checkpoints",
    what: "no checkpoints yet: an empty page for everyone",
    url: () => "/api/ledger/checkpoints?from=1",
    expect: all(200),
    check(res) {
      expect(res.body).to.deep.equal({ items: [], next: null });
    },
  },
  {
    route: "GET /cases/:id/history/:seq/proof",
    what: "an entry of A: who may see A learns there is no checkpoint; another unit, that there is no such case",
    url: (f) => `/api/cases/${f.A.id}/history/1/proof`,
    expect: all(404),
    check(res, who) {
      errorCode(who === "other" ? "not_found" : "no_checkpoint")(res);
    },
  },
  {
    route: "GET /exports/rates.xlsx",
    what: "the rates and scorecard as Excel, for every role",
    url: () => "/api/exports/rates.xlsx?from=2026-01-01&to=2026-12-31",
    expect: all(200),
    check(res) {
      expect(res.headers["content-type"]).to.equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    },
  },
];

describe("HTTP access matrix", function () {
  this.timeout(60_000);
  const t = useApp({ start: "2026-03-02T09:00:00+08:00", users: WHO, once: true });
  let w: World;
  const as = {} as Record<Who, Signed>;
  const f = {} as Fx;
  /** Strings that identify what each unit user must never see. */
  const foreign = {} as Record<Who, string[]>;

  function call(who: Who, method: Method, url: string, opts: { body?: object; upload?: string } = {}) {
    const s = as[who];
    let r = s.agent[method](url);
    if (method !== "get") r = r.set("X-CSRF-Token", s.csrf);
    if (opts.upload) return r.attach("file", PNG, opts.upload);
    return opts.body === undefined ? r : r.send(opts.body);
  }
  async function ok<T = Record<string, unknown>>(who: Who, method: Method, url: string, status: number, opts: { body?: object; upload?: string } = {}): Promise<T> {
    const res = await call(who, method, url, opts);
    if (res.status !== status) throw new Error(`fixture: ${who} ${method.toUpperCase()} ${url} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as T;
  }
  const textOf = (res: Res) => `${res.text ?? ""}\n${Buffer.isBuffer(res.body) ? "" : JSON.stringify(res.body ?? null)}\n${JSON.stringify(res.headers)}`;

  before(async () => {
    w = t.w;
    Object.assign(as, t.as);
    f.units = w.units;
    f.userIds = Object.fromEntries(WHO.map((who) => [who, as[who].userId])) as Record<Who, string>;
    f.ruleId = (await loadRules()).find((r) => r.kind === "inspection" && r.level === "supervision")!.id;

    const inspection = async (ledger: string, title: string, leadUnitId: string, coUnitIds: string[], unitUser: Who, attachmentName: string): Promise<CaseFx> => {
      const { id } = await ok<{ id: string }>("staff", "post", "/api/cases", 201, { body: { ...newInspection(), ledgerNumber: ledger, title } });
      const events = `/api/cases/${id}/events`;
      await ok("staff", "post", events, 200, { body: { type: "ASSIGN", payload: { leadUnitId, coUnitIds, deadline: "2026-06-30" } } });
      await ok(unitUser, "post", events, 200, { body: { type: "SIGN" } });
      const att = await ok<{ id: string }>(unitUser, "post", `/api/cases/${id}/attachments`, 201, { upload: attachmentName });
      await ok(unitUser, "post", events, 200, { body: { type: "REPORT_PROGRESS", payload: { percent: 30, text: "已完成部分整改", attachmentIds: [att.id] } } });
      const notice = await ok<{ id: string; number: string }>("staff", "post", `/api/cases/${id}/notices`, 201, {
        body: { level: "supervision", requirement: "请加快推进整改并书面报送进展" },
      });
      return { id, ledger, title, attachment: att.id, attachmentName, notice: notice.id, noticeNumber: notice.number };
    };
    f.A = await inspection("ZY2-11", "城区部分燃煤锅炉淘汰不彻底", w.units.lead, [w.units.co], "lead", "甲单位现场.png");
    f.B = await inspection("ZY2-22", "某河段黑臭水体治理后反弹", w.units.other, [], "other", "乙单位现场.png");

    const c = await ok<{ id: string; ledgerNumber: string; title: string }>("staff", "post", "/api/cases", 201, {
      body: { kind: "complaint", title: "夜间工地噪声扰民", description: "某工地夜间施工", category: "噪声", channel: "12369热线", complainant: COMPLAINANT },
    });
    await ok("staff", "post", `/api/cases/${c.id}/events`, 200, { body: { type: "ACCEPT" } });
    await ok("staff", "post", `/api/cases/${c.id}/events`, 200, { body: { type: "ASSIGN", payload: { leadUnitId: w.units.lead, deadline: "2026-04-15" } } });
    f.C = { id: c.id, ledger: c.ledgerNumber, title: c.title };
    // This morning's digests (Monday 2026-03-02, after 08:30): one per unit and the office.
    await new DigestIssuer({ time: "08:30", dueWorkdays: 3, items: 5 }, w.clock).run();

    const marks = (x: CaseFx) => [x.id, x.ledger, x.title, x.attachment, x.attachmentName, x.notice, x.noticeNumber];
    const cMarks = [f.C.id, f.C.ledger, f.C.title];
    foreign.lead = marks(f.B);
    // The co-unit sees case A, but not the notice addressed to the lead unit.
    foreign.co = [...marks(f.B), ...cMarks, f.A.notice, f.A.noticeNumber];
    foreign.other = [...marks(f.A), ...cMarks];
    for (const who of UNIT_USERS) foreign[who].push(COMPLAINANT.name, COMPLAINANT.phone, COMPLAINANT.address);
  });
  it("has a matrix row for every route of the route table and every role", () => {
    const config = loadConfig({ ...process.env, LOG_LEVEL: "silent" });
    const table = buildApi({ config, clock: w.clock, service: w.service, redis: null }).routes.map((r) => `${r.method.toUpperCase()} ${r.path}`);
    const covered = new Set(ROWS.flatMap((r) => Object.keys(r.expect).map((who) => `${r.route} × ${who}`)));
    const missing = table.flatMap((route) => WHO.map((who) => `${route} × ${who}`)).filter((k) => !covered.has(k));
    expect(missing, "route × role pairs without a matrix row").to.deep.equal([]);
    const stale = [...new Set(ROWS.map((r) => r.route))].filter((r) => !table.includes(r));
    expect(stale, "matrix rows for routes that no longer exist").to.deep.equal([]);
  });

  for (const row of ROWS) {
    it(`${row.route}: ${row.what}`, async () => {
      const [verb] = row.route.split(" ");
      const method = verb!.toLowerCase() as Method;
      const problems: string[] = [];
      for (const [who, status] of Object.entries(row.expect) as [Who, number][]) {
        const url = row.url(f);
        const mustNotWrite = method !== "get" && ((who === "leader" && !row.leaderWrites) || status >= 400);
        const before = mustNotWrite ? await ledgerState() : "";
        const res = await call(who, method, url, { body: row.body?.(f, who), upload: row.upload });
        const label = `${who} ${verb} ${url}`;
        try {
          expect(res.status, `status (body ${JSON.stringify(res.body).slice(0, 300)})`).to.equal(status);
          expect(res.status, "never a server error").to.be.below(500);
          if (mustNotWrite) expect(await ledgerState(), "the database changed").to.equal(before);
          if (UNIT_USERS.includes(who)) {
            const text = textOf(res);
            const leaked = foreign[who].filter((m) => text.includes(m));
            expect(leaked, "another unit's case (or the complainant) shows in the response").to.deep.equal([]);
          }
          await row.check?.(res, who, f);
        } catch (e) {
          problems.push(`${label}: ${(e as Error).message}`);
        }
      }
      expect(problems).to.deep.equal([]);
    });
  }

  it("answers another unit's case, attachment and notice exactly as if they did not exist", async () => {
    const none = new mongoose.Types.ObjectId().toString();
    const pairs: [Method, (id: string) => string, string, string, object?][] = [
      ["get", (id) => `/api/cases/${id}`, f.A.id, none],
      ["post", (id) => `/api/cases/${id}/events`, f.A.id, none, { type: "REPORT_PROGRESS", payload: { percent: 1, text: "x" } }],
      ["post", (id) => `/api/cases/${id}/events`, f.A.id, none, { type: "NO_SUCH_EVENT" }],
      ["get", (id) => `/api/attachments/${id}`, f.A.attachment, none],
      ["get", (id) => `/api/notices/${id}`, f.A.notice, `${none}-manual-x`],
      ["get", (id) => `/api/notices/${id}/document`, f.A.notice, `${none}-manual-x`],
      ["post", (id) => `/api/notices/${id}/ack`, f.A.notice, `${none}-manual-x`],
    ];
    for (const [method, url, theirs, missing, body] of pairs) {
      const [a, b] = [await call("other", method, url(theirs), { body }), await call("other", method, url(missing), { body })];
      expect({ status: a.status, body: a.body }, url(theirs)).to.deep.equal({ status: b.status, body: b.body });
      expect(a.status).to.equal(404);
    }
    const upload = [await call("other", "post", `/api/cases/${f.A.id}/attachments`, { upload: "x.png" }), await call("other", "post", `/api/cases/${none}/attachments`, { upload: "x.png" })];
    expect(upload.map((r) => [r.status, r.body])).to.deep.equal([
      [404, upload[1]!.body],
      [404, upload[1]!.body],
    ]);
    // Naming another unit's attachment as evidence is refused exactly like naming one that does not exist.
    const before = await ledgerState();
    const cite = (att: string) => call("lead", "post", `/api/cases/${f.C.id}/events`, { body: { type: "REPORT_PROGRESS", payload: { percent: 60, text: "x", attachmentIds: [att] } } });
    const [theirs, nothing] = [await cite(f.B.attachment), await cite(none)];
    expect(theirs.status).to.equal(422);
    expect(JSON.stringify(theirs.body).replaceAll(f.B.attachment, "ID")).to.equal(JSON.stringify(nothing.body).replaceAll(none, "ID"));
    expect(await ledgerState()).to.equal(before);
  });

  it("never shows a unit user the complainant's name, phone or address on any read", async () => {
    // Reads only, so the test stands alone (the matrix rows above check every write's response themselves);
    // the masked forms are fine, the raw ones never.
    const reads: { label: string; text: string }[] = [];
    for (const row of ROWS.filter((r) => r.route.startsWith("GET "))) {
      for (const who of UNIT_USERS.filter((u) => u in row.expect)) {
        const url = row.url(f);
        reads.push({ label: `${who} GET ${url}`, text: textOf(await call(who, "get", url)) });
      }
    }
    expect(reads.length).to.be.greaterThan(50);
    const leaks = reads.filter((r) => [COMPLAINANT.name, COMPLAINANT.phone, COMPLAINANT.address].some((s) => r.text.includes(s))).map((r) => r.label);
    expect(leaks).to.deep.equal([]);
  });

  it("masks a complainant's phone so that no number can be read back from it", () => {
    const phones = (phone: string) => maskComplainant({ phone })!.phone;
    expect(phones("13812345678")).to.equal("138****5678");
    expect(phones("+86 138-1234-5678")).to.equal("138****5678");
    // Landlines: 3 + 4 digits would be most or all of the local number.
    for (const other of ["010-87654321", "0571-8765432", "6543210", "87654321", "12345", "110"]) expect(phones(other), other).to.equal("****");
  });
});
