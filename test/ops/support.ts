/** A small ledger for the operations tests, and running their command-line scripts. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import mongoose from "mongoose";
import type { Actor } from "../../workflows/index.ts";
import { storeAttachment } from "../../src/cases/attachments.ts";
import type { CaseDoc } from "../../src/db/models.ts";
import { issueByHand } from "../../src/notices/issuer.ts";
import { evidence, makeWorld, newComplaint, newInspection, PNG, type World } from "../support/fixtures.ts";
import { testDbUri } from "../support/hooks.ts";

const run = promisify(execFile);

/** Runs scripts/<name>.ts against the test database; resolves with its output, or rejects with its exit code too. */
export const cli = (name: string, args: string[]) =>
  run("node", ["--import", "tsx", `scripts/${name}.ts`, ...args], {
    env: { ...process.env, MONGODB_URI: testDbUri(), LOG_LEVEL: "silent" },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
    killSignal: "SIGKILL",
  });
export const failure = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error("expected the command to fail")),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

export interface Ledger {
  w: World;
  cases: CaseDoc[];
  /** A photo larger than one GridFS chunk (255 kB). */
  bigPhoto: string;
}

/**
 * Three inspection cases and a complaint, walked through assignment, progress with evidence (one file
 * spanning several GridFS chunks) and submission, plus two numbered supervision notices.
 */
export async function buildLedger(): Promise<Ledger> {
  const w = await makeWorld();
  const apply = async (c: CaseDoc, type: string, actor: Actor, payload: Record<string, unknown> = {}) =>
    (await w.service.applyEvent(c._id.toString(), { type, payload }, actor)).case;
  const cases: CaseDoc[] = [];
  for (const n of [1, 2, 3]) {
    let c = await w.service.createCase(newInspection(n), w.office);
    c = await apply(c, "ASSIGN", w.office, { leadUnitId: w.units.lead, coUnitIds: [w.units.co], deadline: "2026-06-30" });
    c = await apply(c, "SIGN", w.lead);
    c = await apply(c, "REPORT_PROGRESS", w.lead, { percent: 30 * n, text: `进展 ${n}`, attachmentIds: [await evidence(c._id.toString(), w.lead)] });
    cases.push(c);
  }
  const noise = Buffer.alloc(700 * 1024);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919) % 251;
  const big = await storeAttachment(cases[0]!._id.toString(), { buffer: Buffer.concat([PNG, noise]), originalname: "大图.png" }, w.lead);
  cases[0] = (await w.service.applyEvent(cases[0]!._id.toString(), { type: "SUBMIT", payload: { summary: "完成", attachmentIds: [big.id] } }, w.lead)).case;
  cases.push(await w.service.createCase(newComplaint(), w.office));
  for (const c of cases.slice(0, 2)) await issueByHand(c, { level: "supervision", requirement: "请书面报告整改进展" }, w.office, w.clock);
  // A sign-in: backups leave sessions out.
  await mongoose.connection
    .db!.collection("sessions")
    .replaceOne({ _id: "sid-1" as never }, { session: "{}", expires: new Date(Date.now() + 3600_000) }, { upsert: true });
  return { w, cases, bigPhoto: big.id };
}

/** Every evidence file's bytes, by id. */
export async function attachmentBytes(): Promise<Map<string, Buffer>> {
  const bucket = new mongoose.mongo.GridFSBucket(mongoose.connection.db!, { bucketName: "attachments" });
  const bytes = new Map<string, Buffer>();
  for (const f of await bucket.find({}).toArray()) {
    const chunks: Buffer[] = [];
    for await (const c of bucket.openDownloadStream(f._id)) chunks.push(c as Buffer);
    bytes.set(f._id.toString(), Buffer.concat(chunks));
  }
  return bytes;
}
