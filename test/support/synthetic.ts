/**
 * A synthetic ledger of realistic shape for plans, benchmarks and the soak: case documents as the case
 * service projects them (kinds, states across both lifecycles, units, deadlines, categories, rounds,
 * some behind schedule), inserted with the raw driver because only their shape matters. Without a
 * history collection they have none; with one, each gets a first entry that chains (so the ledger
 * verifies), as an import would have written it.
 */
import mongoose from "mongoose";
import { shanghaiDate } from "../../workflows/index.ts";
import { CATEGORIES } from "../../src/cases/schemas.ts";
import { gramsOf } from "../../src/cases/grams.ts";
import { deadlineSortKey, unitIdsOf } from "../../src/cases/projection.ts";
import { genesisHash, seal } from "../../src/cases/history.ts";

const DAY = 86_400_000;
const INSPECTION_STATES = ["registered", "assigned", "rectifying.working", "rectifying.extensionPending", "verifying", "publicizing", "closed"];
const COMPLAINT_STATES = ["received", "accepted", "investigating.working", "investigating.extensionPending", "reviewing", "replying", "replied", "closed"];
const ROUNDS = ["中央第一轮", "中央第二轮", "省级第一轮", "省级第二轮", "回头看"];
// Places and findings that make the descriptions differ, so a search finds some words often and others rarely.
const PLACES = ["城东新区", "高新区", "经开区", "滨江街道", "北湖镇", "西山村", "南港工业园", "老城区", "临港片区", "东湖街道", "青石镇", "白沙河沿岸", "石化园区"];
const FINDINGS = ["燃煤锅炉未按期淘汰", "污水直排入河", "建筑工地扬尘管控不力", "夜间施工噪声扰民", "危险废物贮存不规范", "餐饮油烟直排", "畜禽养殖废水未处理", "矿山生态修复滞后", "VOCs无组织排放", "黑臭水体反弹"];

export interface SyntheticOptions {
  /** Unit ids the cases are spread over (lead unit i % units.length). */
  units: string[];
  /** The moment the ledger is seen from: deadlines and updates spread around it. */
  now: Date;
  /** A prefix for ledger numbers, so several ledgers can share a collection. */
  prefix?: string;
  /** Where to write each case's first history entry (case_history); unset: no history. */
  history?: mongoose.mongo.Collection;
}

/** The i-th synthetic case document. Deterministic: the same i gives the same case. */
export function syntheticCase(i: number, o: SyntheticOptions): Record<string, unknown> {
  const inspection = i % 3 !== 0;
  const states = inspection ? INSPECTION_STATES : COMPLAINT_STATES;
  const state = states[(i * 11 + (i >> 2)) % states.length]!;
  const assigned = !["registered", "received", "accepted"].includes(state);
  const lead = assigned ? o.units[i % o.units.length]! : null;
  const co = assigned && i % 4 === 0 ? [o.units[(i + 3) % o.units.length]!] : [];
  const day = (offset: number) => new Date(o.now.getTime() + offset * DAY).toISOString().slice(0, 10);
  // Deadlines from 200 days ago to 400 days ahead, in an order unrelated to insertion.
  const deadline = assigned ? day(((i * 7919) % 600) - 200) : null;
  const created = new Date(o.now.getTime() - ((i * 104_729) % 720) * DAY);
  const updated = new Date(Math.min(o.now.getTime(), created.getTime() + ((i * 31) % 90) * DAY));
  const progress = state === "closed" ? 100 : (i * 13) % 100;
  const context = {
    leadUnitId: lead,
    coUnitIds: co,
    deadline,
    deadlineRevision: assigned ? 1 : 0,
    progressPercent: progress,
    assignedOn: assigned ? day(-((i * 17) % 300) - 30) : null,
    closedOn: state === "closed" ? shanghaiDate(updated) : null,
    ...(inspection ? {} : { receivedOn: shanghaiDate(created), acceptedOn: state === "received" ? null : shanghaiDate(created), concludeBy: day(((i * 37) % 120) - 60) }),
  };
  const texts = {
    ledgerNumber: `${o.prefix ?? "SYN"}-${inspection ? "ZY" : "XF"}-${String(i).padStart(7, "0")}`,
    title: `${inspection ? "督察反馈" : "信访投诉"}问题${i}：某区域${["锅炉", "污水", "扬尘", "噪声", "固废"][i % 5]}治理不到位`,
    description: `督察发现${PLACES[i % PLACES.length]}${FINDINGS[(i * 7) % FINDINGS.length]}，群众反映强烈，需按期整改到位。`,
  };
  return {
    _id: new mongoose.Types.ObjectId(),
    kind: inspection ? "inspection" : "complaint",
    ...texts,
    category: CATEGORIES[i % CATEGORIES.length],
    source: inspection ? "中央生态环境保护督察" : null,
    round: inspection ? ROUNDS[i % ROUNDS.length] : null,
    channel: inspection ? null : "12369热线",
    receivedOn: inspection ? null : shanghaiDate(created),
    immediate: false,
    longTerm: false,
    state,
    stateValue: state.includes(".") ? { [state.split(".")[0]!]: state.split(".")[1] } : state,
    context,
    leadUnitId: lead,
    coUnitIds: co,
    unitIds: unitIdsOf(lead, co),
    grams: gramsOf(texts),
    deadline,
    deadlineSort: deadlineSortKey(deadline),
    deadlineRevision: context.deadlineRevision,
    progressPercent: progress,
    // One case in eight has fallen behind schedule at some moment of the last 60 days.
    behindFrom: assigned && i % 8 === 0 ? new Date(o.now.getTime() - ((i * 11) % 60) * DAY) : null,
    // Some registered items were handed back (申请退回), some verifying ones came back from publicity (公示异议).
    stateSince: updated,
    stateEvent: state === "registered" && i % 5 === 0 ? "RETURN" : state === "verifying" && i % 4 === 0 ? "OBJECTION" : "UPDATE",
    version: assigned ? 3 : 1,
    historyHead: "0".repeat(64),
    createdBy: "synthetic",
    createdAt: created,
    updatedAt: updated,
  };
}


/** The i-th case registered through the case service by a benchmark or the soak: an inspection item numbered `<prefix>-W-<i>`. */
export const walkedInspection = (i: number, prefix: string) => ({
  kind: "inspection" as const,
  ledgerNumber: `${prefix}-W-${String(i).padStart(6, "0")}`,
  round: i % 2 ? "中央第二轮" : "省级第一轮",
  title: `第${i}号问题：部分企业污染治理设施运行不正常`,
  description: "督察发现部分企业污染治理设施未正常运行，超标排放问题时有发生，群众反映强烈。",
  category: "大气" as const,
});

/** The i-th complaint registered through the case service by a benchmark or the soak. */
export const walkedComplaint = (i: number) => ({
  kind: "complaint" as const,
  title: `群众反映第${i}号点位夜间噪声和异味扰民`,
  description: "夜间施工噪声及异味明显，请求查处。",
  category: "噪声" as const,
  channel: "12369热线" as const,
  complainant: { name: `群众${i}`, phone: "13800000000" },
});

/** Inserts `n` synthetic cases into `collection` in batches, calling `progress` after each batch. */
export async function insertSyntheticCases(
  collection: mongoose.mongo.Collection,
  n: number,
  o: SyntheticOptions,
  progress: (done: number) => void = () => {},
): Promise<void> {
  const BATCH = 5000;
  for (let from = 0; from < n; from += BATCH) {
    const docs = Array.from({ length: Math.min(BATCH, n - from) }, (_, k) => syntheticCase(from + k, o));
    if (o.history) await o.history.insertMany(docs.map(chain), { ordered: false, ignoreUndefined: true });
    await collection.insertMany(docs, { ordered: false });
    progress(from + docs.length);
  }
}

/** The case's first history entry (IMPORT, by "synthetic"), holding its snapshot; the case becomes version 1 with that head. */
function chain(doc: Record<string, unknown>): Record<string, unknown> {
  const caseId = String(doc._id);
  const entry = seal(
    {
      caseId,
      seq: 1,
      type: "IMPORT",
      actor: { id: "synthetic", name: "synthetic", role: "office_staff", unitId: null },
      at: doc.createdAt as Date,
      from: null,
      to: doc.state as string,
      payload: { ledgerNumber: doc.ledgerNumber },
      deadlineRevision: doc.deadlineRevision as number,
      snapshot: { value: doc.stateValue, context: doc.context },
    },
    genesisHash(caseId),
  );
  Object.assign(doc, { version: 1, historyHead: entry.hash });
  return entry as unknown as Record<string, unknown>;
}
