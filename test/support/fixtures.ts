/** Builders for a small world: units, actors, and cases walked to a given point. */
import mongoose from "mongoose";
import { shanghaiDate, type Actor } from "../../workflows/index.ts";
import { ManualClock } from "../../src/clock.ts";
import { Addressee, BulletinIssue, BulletinTrace, Case, CaseCount, CaseHistory, CaseSchedule, Digest, LedgerCheckpoint, Notice, NoticeDelivery, NoticeRuleModel, NoticeTextModel, OfficeSettingsModel, Sequence, SmsSettingsModel, SweepState, Unit } from "../../src/db/models.ts";
import { createUnit } from "../../src/directory.ts";
import { storeAttachment } from "../../src/cases/attachments.ts";
import { CaseService } from "../../src/cases/service.ts";
import { AppError } from "../../src/errors.ts";

export interface World {
  clock: ManualClock;
  service: CaseService;
  units: { lead: string; co: string; other: string };
  office: Actor;
  leader: Actor;
  system: Actor;
  lead: Actor;
  co: Actor;
  other: Actor;
}

/** Empties the ledger collections the case tests write. */
export async function resetLedger(): Promise<void> {
  await Promise.all(
    [Case, CaseCount, CaseHistory, CaseSchedule, LedgerCheckpoint, SweepState, Unit, Sequence, Notice, NoticeDelivery, NoticeRuleModel, NoticeTextModel, OfficeSettingsModel, SmsSettingsModel, BulletinIssue, BulletinTrace, Addressee, Digest].map((m) => (m as typeof Case).deleteMany({})),
  );
  const db = mongoose.connection.db!;
  await Promise.all(["attachments.files", "attachments.chunks", "ledger_lease"].map((c) => db.collection(c).deleteMany({})));
}

/** The world's three units by name: the lead, the co-unit and another. */
export const WORLD_UNITS = ["市生态环境局", "市水务局", "市住建局"] as const;

export async function makeWorld(start = "2026-03-02T09:00:00+08:00"): Promise<World> {
  await resetLedger();
  const clock = new ManualClock(start);
  const [lead, co, other] = await Promise.all(WORLD_UNITS.map((name) => createUnit({ name })));
  const id = () => new mongoose.Types.ObjectId().toString();
  const units = { lead: lead!._id.toString(), co: co!._id.toString(), other: other!._id.toString() };
  return {
    clock,
    service: new CaseService(clock),
    units,
    office: { id: id(), name: "整改办张三", role: "office_staff", unitId: null },
    leader: { id: id(), name: "分管领导", role: "leader", unitId: null },
    system: { id: "system", name: "系统", role: "system", unitId: null },
    lead: { id: id(), name: "生态环境局联络员", role: "unit_user", unitId: units.lead },
    co: { id: id(), name: "水务局联络员", role: "unit_user", unitId: units.co },
    other: { id: id(), name: "住建局联络员", role: "unit_user", unitId: units.other },
  };
}

export function newInspection(n = 1) {
  return {
    kind: "inspection" as const,
    ledgerNumber: `ZY2-${String(n).padStart(2, "0")}`,
    round: "中央第二轮",
    title: "城区部分燃煤锅炉淘汰不彻底",
    description: "仍有12台10蒸吨以下燃煤锅炉在用",
    category: "大气" as const,
  };
}

export function newComplaint() {
  return {
    kind: "complaint" as const,
    title: "夜间工地噪声扰民",
    description: "某工地夜间施工，噪声扰民",
    category: "噪声" as const,
    channel: "12369热线" as const,
    complainant: { name: "李四", phone: "13800000000", address: "某小区3栋" },
  };
}

/** A 1×1 PNG: real image content for evidence uploads. */
export const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

/** Uploads a photo as evidence for a case; returns its attachment id. */
export async function evidence(caseId: string, actor: Actor, name = "现场照片.png"): Promise<string> {
  return (await storeAttachment(caseId, { buffer: PNG, originalname: name }, actor)).id;
}

/** The office's 现场核查 for PASS, with a photo uploaded to the case, dated today (the clock's day in China). */
export async function checked(w: World, caseId: string, extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const day = shanghaiDate(w.clock.now());
  return { checkedBy: "整改办张三、李四", checkedOn: day, opinion: "现场核查，整改到位", attachmentIds: [await evidence(caseId, w.office, "核查照片.png")], ...extra };
}

/** The 回访 for CLOSE, dated today. */
export function visited(w: World, satisfaction = "满意"): Record<string, unknown> {
  const day = shanghaiDate(w.clock.now());
  return { visitedOn: day, visitMethod: "电话", satisfaction };
}

/** The AppError a promise rejects with; fails the test if it was accepted. */
export async function refusal(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error("expected a refusal, but it was accepted");
}
