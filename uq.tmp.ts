import mongoose from "mongoose";
import { connectDb, ensureIndexes } from "./src/db/connection.ts";
import { Case } from "./src/db/models.ts";
import { SORTS, sortSpec } from "./src/cases/queries.ts";
import { refreshStatistics } from "./test/support/plans.ts";
import { insertSyntheticCases } from "./test/support/synthetic.ts";
await connectDb(process.env.MONGODB_URI!.replace("/rectiflow", "/uq"));
await mongoose.connection.dropDatabase(); await ensureIndexes();
await Case.collection.createIndex({ units: 1, state: 1 });
const now = new Date();
const units = Array.from({ length: 20 }, () => new mongoose.Types.ObjectId().toString());
await insertSyntheticCases(Case.collection, 100000, { units, now });
{
  const all = await Case.collection.find({}, { projection: { leadUnitId: 1, coUnitIds: 1 } }).toArray();
  for (let i = 0; i < all.length; i += 5000)
    await Case.collection.bulkWrite(all.slice(i, i + 5000).map((d) => ({ updateOne: { filter: { _id: d._id }, update: { $set: { units: [...(d.leadUnitId ? [d.leadUnitId] : []), ...(d.coUnitIds ?? [])] } } } })), { ordered: false });
}
console.log("with units", await Case.collection.countDocuments({ units: units[3] }), "vs", await Case.collection.countDocuments({ $or: [{ leadUnitId: units[3] }, { coUnitIds: units[3] }] }));
await refreshStatistics();
const variants: Record<string, [object, object]> = {
  "unit category": [{ $or: [{ leadUnitId: units[3] }, { coUnitIds: units[3] }], category: "水" }, { units: units[3], category: "水" }],
  "unit round": [{ $or: [{ leadUnitId: units[3] }, { coUnitIds: units[3] }], round: "回头看" }, { units: units[3], round: "回头看" }],
  "unit unitfilter": [{ $or: [{ leadUnitId: units[3] }, { coUnitIds: units[3] }], $and: [{ $or: [{ leadUnitId: units[5] }, { coUnitIds: units[5] }] }] }, { $and: [{ units: units[3] }, { units: units[5] }] }],
  "office unitfilter": [{ $or: [{ leadUnitId: units[5] }, { coUnitIds: units[5] }] }, { units: units[5] }],
};
for (const [name, [a, b]] of Object.entries(variants)) {
  for (const [label, f] of [["$or", a], ["units", b]] as const) {
    const times: string[] = [];
    for (const sort of SORTS) {
      const run = () => Promise.all([Case.collection.find(f).sort(sortSpec(sort)).limit(50).toArray(), Case.collection.countDocuments(f)]);
      await run(); const t = performance.now(); await run(); times.push((performance.now() - t).toFixed(0));
    }
    console.log(name.padEnd(18), label.padEnd(6), times.join(" "));
  }
}
await mongoose.disconnect();
