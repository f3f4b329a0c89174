import mongoose from "mongoose";
import { connectDb, ensureIndexes } from "./src/db/connection.ts";
import { Case } from "./src/db/models.ts";
import { SORTS, caseListQuery, listCases } from "./src/cases/queries.ts";
import { refreshStatistics, summarize } from "./test/support/plans.ts";
import { insertSyntheticCases } from "./test/support/synthetic.ts";
await connectDb(process.env.MONGODB_URI!.replace("/rectiflow", "/lq"));
await mongoose.connection.dropDatabase(); await ensureIndexes();
const now = new Date();
const units = Array.from({ length: 20 }, () => new mongoose.Types.ObjectId().toString());
const N = Number(process.env.N ?? 100000);
await insertSyntheticCases(Case.collection, N, { units, now });
await refreshStatistics();
const office = { id: "o", name: "o", role: "office_staff", unitId: null } as const;
const unit = { id: "u", name: "u", role: "unit_user", unitId: units[3] } as const;
const day = (o: number) => new Date(now.getTime() + o * 86400000).toISOString().slice(0, 10);
const filters: Record<string, object> = { none: {}, kind: { kind: "complaint" }, state: { state: "rectifying" }, unit: { unit: units[5] }, category: { category: "水" }, round: { round: "回头看" }, overdue: { overdue: true }, behind: { behindSchedule: true }, q: { q: "锅炉" }, range: { deadlineFrom: day(30), deadlineTo: day(60) } };
const slow: string[] = [];
for (const [who, actor] of [["office", office], ["unit", unit]] as const) for (const [fn, f] of Object.entries(filters)) {
  const times: string[] = [];
  for (const sort of SORTS) {
    await listCases(actor as never, f, { page: 1, pageSize: 50, sort }, now);
    const t = performance.now(); await listCases(actor as never, f, { page: 1, pageSize: 50, sort }, now); const ms = performance.now() - t; times.push(ms.toFixed(0));
    if (ms > 60) {
      const { page, filter } = await caseListQuery(actor as never, f, { page: 1, pageSize: 50, sort }, now);
      const tp = performance.now(); await page.clone().lean(); const pms = performance.now() - tp;
      const tc = performance.now(); await Case.countDocuments(filter); const cms = performance.now() - tc;
      const p = summarize(await page.clone().explain()); const c = summarize(await Case.find(filter).explain());
      slow.push(`${who} ${fn} ${sort}: page ${pms.toFixed(0)}ms ${p.nodes.join(">")} [${p.indexes}] | count ${cms.toFixed(0)}ms ${c.nodes.join(">")} [${c.indexes}]`);
    }
  }
  console.log(who, fn.padEnd(8), times.join(" "));
}
console.log(slow.join("\n"));
await mongoose.disconnect();
