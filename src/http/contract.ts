/**
 * The parts of the OpenAPI document that no zod schema of a route gives: what the HTTP layer refuses
 * in every JSON body (guards.ts, refuseOperatorKeys), the formats of path ids, and the shapes of responses.
 * Response schemas name what the presenters (present.ts) always send; objects stay open to new fields.
 */

import { LEVELS } from "../../workflows/index.ts";

/** No NUL anywhere in a JSON body: refused with 400 before any route reads it. */
export const NO_NUL = "^[^\\u0000]*$";
/** Nor a key starting with "$" (a query operator, never a field of ours). */
export const NOT_OPERATOR_KEY = "^(?:[^$\\u0000][^\\u0000]*)?$";
/** How many levels of objects and arrays a body may nest, itself the first (guards.ts refuses more). */
export const MAX_NESTING = 20;

/** A path segment naming a document; one that cannot name any is answered like one that names none (404). */
export interface PathParam {
  pattern: RegExp;
  /** What is not found, in Chinese ("案件" → "案件不存在或无权查看"). */
  what: string;
  description: string;
}
export const objectIdParam = (what: string): PathParam => ({ pattern: /^[0-9a-fA-F]{24}$/, what, description: `${what}编号（24 位十六进制 ObjectId）` });
export const noticeIdParam: PathParam = {
  pattern: /^[0-9a-fA-F]{24}-[A-Za-z0-9_.-]{1,100}$/,
  what: "通知",
  description: "通知编号：<案件编号>-<规则编号>-r<期限版本>，人工发出的为 <案件编号>-manual-<UUID>",
};
export const levelParam: PathParam = { pattern: new RegExp(`^(?:${LEVELS.join("|")})$`), what: "通知文本", description: `通知类别：${LEVELS.join("、")}` };
export const ruleIdParam: PathParam = { pattern: /^[A-Za-z0-9_.-]{1,100}$/, what: "预警规则", description: "规则编号，如 inspection.yellow" };

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, "null"], ...extra });
const str = { type: "string" };
const int = { type: "integer" };
const dateTime = { type: "string", format: "date-time" };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
/** One page of a list: GET /api/cases and /api/notices. */
const pageOf = (item: Record<string, unknown>) => ({
  type: "object",
  properties: {
    items: { type: "array", items: item },
    total: { type: "integer", minimum: 0 },
    page: { type: "integer", minimum: 1 },
    pageSize: { type: "integer", minimum: 1, maximum: 100 },
  },
  required: ["items", "total", "page", "pageSize"],
});

/**
 * The 台账's page adds how many pages there are and whether the total is only a lower bound (a count
 * capped for filters the facet counts do not answer, docs/api.md). A page past the last has no items.
 */
const casePage = (page: ReturnType<typeof pageOf>) => ({
  ...page,
  properties: {
    ...page.properties,
    total: { type: "integer", minimum: 0, description: "符合条件的案件数；totalCapped 为 true 时为下限（实际更多）" },
    totalCapped: { type: "boolean", description: "true：全文检索、日期范围等条件下只数到 2000 件（或所请求的页为止），实际多于 total" },
    pages: { type: "integer", minimum: 1, description: "页数（totalCapped 时为下限）；page 超过它时 items 为空" },
  },
  required: [...page.required, "totalCapped", "pages"],
});

/** The notices' page: its total is always exact; a page past the last has no items, as the 台账's. */
const noticePage = (page: ReturnType<typeof pageOf>) => ({
  ...page,
  properties: { ...page.properties, pages: { type: "integer", minimum: 1, description: "页数；page 超过它时 items 为空" } },
  required: [...page.required, "pages"],
});

/** components.schemas: the error shape, any JSON a body may carry, and the responses' shapes. */
export const SCHEMAS: Record<string, Record<string, unknown>> = {
  Error: {
    type: "object",
    description: "错误：code 为稳定的英文代码，message 为给人看的中文说明；字段错误在 details.fields",
    properties: {
      error: {
        type: "object",
        properties: {
          code: str,
          message: str,
          details: {
            type: "object",
            properties: {
              fields: { type: "array", items: { type: "object", properties: { field: str, message: str }, required: ["field", "message"] } },
            },
          },
        },
        required: ["code", "message", "details"],
      },
    },
    required: ["error"],
  },
  Json: {
    description: `任意 JSON 值，但字符串不含 NUL，对象的键不以 $ 开头，嵌套不超过 ${MAX_NESTING} 层（否则 400）`,
    anyOf: [
      { type: "string", pattern: NO_NUL },
      { type: ["number", "boolean", "null"] },
      { type: "array", items: ref("Json") },
      { type: "object", propertyNames: { pattern: NOT_OPERATOR_KEY }, additionalProperties: ref("Json") },
    ],
  },
  Case: {
    type: "object",
    description: "案件。complainant 只在信访件上出现，单位与领导看到的是遮蔽后的信息",
    properties: {
      id: str,
      kind: { enum: ["inspection", "complaint"] },
      ledgerNumber: str,
      title: str,
      description: nullable("string"),
      category: nullable("string"),
      source: nullable("string"),
      round: nullable("string"),
      goal: nullable("string"),
      measures: nullable("string"),
      immediate: nullable("boolean"),
      longTerm: nullable("boolean"),
      plannedDeadline: nullable("string"),
      plannedLeadUnitId: nullable("string", { description: "拟牵头单位（清单所列，交办前）" }),
      plannedCoUnitIds: { type: "array", items: str, description: "拟配合单位（清单所列，交办前）" },
      channel: nullable("string"),
      complainant: nullable("object"),
      receivedOn: nullable("string"),
      state: str,
      stateLabel: str,
      leadUnitId: nullable("string"),
      coUnitIds: { type: "array", items: str },
      deadline: nullable("string"),
      deadlineRevision: int,
      progressPercent: nullable("number"),
      stateSince: nullable("string", { description: "进入当前状态的时间（待办的等待起点）" }),
      context: { type: "object" },
      version: { type: "integer", minimum: 1 },
      createdAt: dateTime,
      updatedAt: dateTime,
    },
    required: ["id", "kind", "ledgerNumber", "title", "state", "stateLabel", "leadUnitId", "coUnitIds", "deadline", "version"],
  },
  CaseList: casePage(pageOf({ allOf: [ref("Case"), { type: "object", properties: { light: { enum: ["red", "yellow", "green", null] } }, required: ["light"] }] })),
  HistoryEntry: {
    type: "object",
    properties: {
      seq: { type: "integer", minimum: 1 },
      type: str,
      typeLabel: str,
      actor: { type: "object", properties: { id: str, name: nullable("string"), role: str, unitId: nullable("string") }, required: ["id", "role"] },
      at: dateTime,
      from: nullable("string"),
      to: str,
      payload: { type: "object" },
      deadlineRevision: int,
      hash: str,
    },
    required: ["seq", "type", "actor", "at", "to", "hash"],
  },
  Attachment: {
    type: "object",
    properties: { id: str, name: str, size: { type: "integer", minimum: 0 }, type: str, sha256: { type: "string", pattern: "^[0-9a-f]{64}$" } },
    required: ["id", "name", "size", "type", "sha256"],
  },
  CaseDetail: {
    type: "object",
    properties: {
      case: ref("Case"),
      history: { type: "array", items: ref("HistoryEntry") },
      notices: { type: "array", items: ref("Notice") },
      attachments: { type: "array", items: ref("Attachment") },
      allowedEvents: { type: "array", items: str },
      // Events the actor's role allows but the case's situation blocks now, with the reasons (e.g. 申请销号 while an extension is pending).
      blockedEvents: { type: "array", items: { type: "object", properties: { type: str, reasons: { type: "array", items: str } }, required: ["type", "reasons"] } },
      // What the case page shows beside the fields (src/cases/view.ts), so a client need not work it out again.
      light: { enum: ["red", "yellow", "green", null], description: "信号灯：red 已超期，yellow 已预警或滞后于序时进度，green 正常；时限不再约束时为 null" },
      deadlineRevisions: {
        type: "array",
        description: "时限的每个版本：由哪个操作设定、设定日期，及到时限的工作日数（节假日未录入时为 null）",
        items: {
          type: "object",
          properties: { revision: int, deadline: nullable("string"), event: str, on: str, workdays: nullable("integer"), current: { type: "boolean" } },
          required: ["revision", "deadline", "event", "on", "workdays", "current"],
        },
      },
      publicity: nullable("object", {
        description: "公示期（公示中的督察问题）：起始日、工作日数和最后一天（节假日未录入时 ends 为 null）",
        properties: { since: str, days: int, ends: nullable("string") },
        required: ["since", "days", "ends"],
      }),
      pendingExtension: nullable("object", {
        description: "待批的延期申请；requestedDatePassed 为 true 时申请的日期已过，只能不同意",
        properties: { deadline: str, reason: str, requestedOn: str, requestedDatePassed: { type: "boolean" } },
        required: ["deadline", "reason", "requestedOn", "requestedDatePassed"],
      }),
      instructions: {
        type: "array",
        description: "领导批示（按写下的先后）：批示人、内容、所批的通知（本用户看得到时写明级别和文号），及整改办的落实（未落实为 null）",
        items: {
          type: "object",
          properties: {
            n: int,
            at: str,
            by: { type: "object", properties: { id: str, name: str }, required: ["id", "name"] },
            text: str,
            notice: nullable("object", { properties: { id: str, label: str }, required: ["id", "label"] }),
            done: nullable("object", { properties: { at: str, by: str, text: str }, required: ["at", "by", "text"] }),
          },
          required: ["n", "at", "by", "text", "notice", "done"],
        },
      },
    },
    required: ["case", "history", "notices", "attachments", "allowedEvents", "blockedEvents", "light", "deadlineRevisions", "publicity", "pendingExtension", "instructions"],
  },
  Applied: {
    type: "object",
    properties: { case: ref("Case"), entry: ref("HistoryEntry"), replayed: { type: "boolean" } },
    required: ["case", "entry", "replayed"],
  },
  BatchResult: {
    type: "object",
    description: "逐件结果：对单位看不到的案件不回显编号",
    properties: {
      done: { type: "integer", minimum: 0 },
      failed: { type: "integer", minimum: 0 },
      rows: {
        type: "array",
        items: {
          type: "object",
          properties: { n: { type: "integer", minimum: 1 }, id: nullable("string"), ledgerNumber: nullable("string"), title: nullable("string"), ok: { type: "boolean" }, message: str },
          required: ["n", "id", "ledgerNumber", "ok", "message"],
        },
      },
    },
    required: ["done", "failed", "rows"],
  },
  Notice: {
    type: "object",
    properties: {
      id: str,
      caseId: str,
      kind: str,
      ledgerNumber: str,
      caseTitle: str,
      level: str,
      levelLabel: str,
      number: nullable("string"),
      revision: int,
      unitId: nullable("string"),
      manual: { type: "boolean" },
      deadline: nullable("string"),
      requirement: nullable("string"),
      points: { type: "number" },
      dueAt: dateTime,
      issuedAt: dateTime,
      state: str,
      deliveries: { type: "object" },
      readAt: nullable("string"),
      ackAt: nullable("string"),
    },
    required: ["id", "caseId", "ledgerNumber", "level", "levelLabel", "number", "issuedAt", "state", "deliveries"],
  },
  NoticeList: noticePage(pageOf(ref("Notice"))),
  Digest: {
    type: "object",
    description: "一份晨间汇总（晨报）：接收方、日期、各项件数和各渠道的投递状态",
    properties: {
      id: str,
      day: { type: "string", format: "date" },
      recipient: { type: "object", properties: { kind: str, name: str }, required: ["kind", "name"] },
      issuedAt: dateTime,
      empty: { type: "boolean", description: "true：当日没有需要汇总的事项，不发送" },
      note: nullable("string"),
      sections: { type: "array", items: { type: "object", properties: { key: str, label: str, total: { type: "integer", minimum: 0 } }, required: ["key", "label", "total"] } },
      deliveries: {
        type: "array",
        items: {
          type: "object",
          properties: { channel: str, status: str, attempts: { type: "integer", minimum: 0 }, sentAt: nullable("string"), waitUntil: nullable("string"), lastError: nullable("string"), target: nullable("string") },
          required: ["channel", "status", "attempts"],
        },
      },
    },
    required: ["id", "day", "recipient", "issuedAt", "empty", "note", "sections", "deliveries"],
  },
  DigestList: noticePage(pageOf(ref("Digest"))),
  Receipts: {
    type: "object",
    properties: { items: { type: "array", items: { type: "object", properties: { id: str, ok: { type: "boolean" }, message: str }, required: ["id", "ok", "message"] } } },
    required: ["items"],
  },
  Unit: {
    type: "object",
    description: "单位；管理员另见 contacts 与 notify（从不含推送签名密钥本身）",
    properties: { id: str, name: str, shortName: nullable("string"), aliases: { type: "array", items: str }, parentId: nullable("string"), active: { type: "boolean" } },
    required: ["id", "name", "shortName", "aliases", "parentId"],
  },
  User: {
    type: "object",
    properties: {
      id: str,
      username: str,
      displayName: str,
      role: { enum: ["office_admin", "office_staff", "unit_user", "leader"] },
      unitId: nullable("string"),
      active: { type: "boolean" },
    },
    required: ["id", "username", "displayName", "role", "unitId", "active"],
  },
  Me: {
    type: "object",
    properties: { user: ref("User"), role: str, unitId: nullable("string"), csrfToken: str },
    required: ["user", "role", "unitId", "csrfToken"],
  },
  SignedIn: { type: "object", properties: { user: ref("User"), csrfToken: str }, required: ["user", "csrfToken"] },
  ImportReport: {
    type: "object",
    description: "导入报告：status 为 imported（201）、unchanged 或 preview（200）、conflict（409）、invalid（422）、incomplete（500，列出已写入的行）",
    properties: {
      status: str,
      message: str,
      rows: { type: "integer", minimum: 0 },
      toCreate: { type: "integer", minimum: 0 },
      created: { type: "integer", minimum: 0 },
      unchanged: { type: "integer", minimum: 0 },
      errors: { type: "array", items: { type: "object" } },
      conflicts: { type: "array", items: { type: "object" } },
      written: { type: "array", items: int },
      preview: { type: "array", items: { type: "object" } },
      dryRun: { type: "boolean" },
    },
    required: ["status", "message", "rows", "errors", "conflicts", "dryRun"],
  },
  Items: { type: "object", properties: { items: { type: "array", items: { type: "object" } } }, required: ["items"] },
  Scorecard: {
    type: "object",
    description: "考评：各单位扣分（少者在前）、各级通知数和每一分对应的通知",
    properties: {
      from: str,
      to: str,
      units: {
        type: "array",
        items: {
          type: "object",
          properties: { unitId: str, unitName: str, points: { type: "number" }, counts: { type: "object" }, cases: int, specialLetters: { type: "array" }, lines: { type: "array" } },
          required: ["unitId", "unitName", "points", "counts", "cases", "specialLetters", "lines"],
        },
      },
    },
    required: ["from", "to", "units"],
  },
  Bulletin: {
    type: "object",
    description: "月度通报：单位只见本单位一行、名次和全市合计",
    properties: {
      month: str,
      from: str,
      to: str,
      cutoff: str,
      units: int,
      rows: { type: "array", items: { type: "object" } },
      totals: { type: "object" },
      levels: { type: "array", items: str },
      summary: str,
      issue: { oneOf: [ref("BulletinIssue"), { type: "null" }], description: "已发布的期号、发文机关和日期；null 为未发布的草稿（实时数字）" },
      issues: { type: "array", items: ref("BulletinIssue") },
    },
    required: ["month", "from", "to", "cutoff", "units", "rows", "totals", "levels", "summary", "issue", "issues"],
  },
  BulletinIssue: {
    type: "object",
    description: "一期已发布的月度通报",
    properties: {
      id: str,
      month: str,
      monthText: str,
      year: str,
      number: int,
      label: str,
      issuedOn: str,
      issuer: str,
      signer: str,
      corrects: { oneOf: [{ type: "object", properties: { id: str, label: str }, required: ["id", "label"] }, { type: "null" }] },
      correctedBy: { oneOf: [{ type: "object", properties: { id: str, label: str }, required: ["id", "label"] }, { type: "null" }] },
      note: str,
    },
    required: ["id", "month", "monthText", "year", "number", "label", "issuedOn", "issuer", "signer", "corrects", "correctedBy", "note"],
  },
  BulletinIssues: { type: "object", properties: { year: str, items: { type: "array", items: ref("BulletinIssue") } }, required: ["year", "items"] },
  TracedCases: {
    type: "object",
    properties: {
      items: {
        type: "array",
        items: {
          type: "object",
          properties: { id: str, ledgerNumber: str, title: str, state: str, deadline: nullable("string"), closedOn: nullable("string") },
          required: ["id", "ledgerNumber", "title", "state", "deadline", "closedOn"],
        },
      },
    },
    required: ["items"],
  },
  Settings: {
    type: "object",
    description: "系统设置：发文机关、落款、联系人、抄送、核查用语",
    properties: { issuerMark: str, signer: str, contactName: str, contactPhone: str, cc: str, verificationTerm: str },
    required: ["issuerMark", "signer", "contactName", "contactPhone", "cc", "verificationTerm"],
  },
  NoticeText: {
    type: "object",
    properties: { level: { enum: [...LEVELS] }, title: str, body: str, replyDays: int },
    required: ["level", "title", "body", "replyDays"],
  },
  NoticeTexts: { type: "object", properties: { items: { type: "array", items: ref("NoticeText") } }, required: ["items"] },
  TextPreview: {
    type: "object",
    properties: { level: { enum: [...LEVELS] }, label: str, samples: { type: "array", items: { type: "object", properties: { kind: { enum: ["inspection", "complaint"] }, title: str, paragraphs: { type: "array", items: str }, to: str }, required: ["kind", "title", "paragraphs", "to"] } } },
    required: ["level", "label", "samples"],
  },
  Health: { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] },
  Checkpoint: {
    type: "object",
    properties: {
      n: { type: "integer", description: "检查点编号" },
      size: { type: "integer", description: "覆盖的办理记录数（树大小）" },
      root: { type: "string", description: "RFC 6962 根哈希（base64）" },
      signedAt: { type: "string", format: "date-time" },
      note: { type: "string", description: "签名文本（C2SP signed-note）" },
      timestamp: nullable("string", { description: "RFC 3161 时间戳令牌（DER，base64）" }),
    },
    required: ["n", "size", "root", "signedAt", "note", "timestamp"],
  },
  CheckpointPage: {
    type: "object",
    properties: { items: { type: "array", items: ref("Checkpoint") }, next: nullable("integer", { description: "下一页的 from" }) },
    required: ["items", "next"],
  },
  EntryProof: {
    type: "object",
    properties: {
      caseId: { type: "string" },
      seq: { type: "integer" },
      leafIndex: { type: "integer", description: "在树中的位置（从 0 起）" },
      treeSize: { type: "integer" },
      leafData: { type: "string", description: "叶子数据（base64）：叶子哈希 = SHA-256(0x00 ‖ 叶子数据)" },
      leafHash: { type: "string", description: "base64" },
      proof: { type: "array", items: { type: "string" }, description: "RFC 6962 审计路径，自叶子一侧起（base64）" },
      checkpoint: { type: "string", description: "所对照的签名检查点" },
      checkpointNumber: { type: "integer" },
      signedAt: { type: "string", format: "date-time" },
      verified: { type: "boolean", description: "记录当前内容能否经此路径得出检查点的根哈希" },
    },
    required: ["caseId", "seq", "leafIndex", "treeSize", "leafData", "leafHash", "proof", "checkpoint", "checkpointNumber", "signedAt", "verified"],
  },
  Readiness: {
    type: "object",
    properties: { ok: { type: "boolean" }, checks: { type: "object", properties: { mongodb: { type: "boolean" }, redis: nullable("boolean") } } },
    required: ["ok", "checks"],
  },
};

export const ERROR_CONTENT = { "application/json": { schema: ref("Error") } };
export { ref };
