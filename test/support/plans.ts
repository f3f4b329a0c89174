/**
 * Reading query plans from either engine: MongoDB's explain (stages such as IXSCAN, COLLSCAN) and
 * FerretDB v2's, which is PostgreSQL's plan of the DocumentDB query (Index Scan, Bitmap Index Scan,
 * Seq Scan). Enough to tell whether a query reads a collection through an index.
 */
import mongoose from "mongoose";

export interface PlanSummary {
  /** The whole collection was read (COLLSCAN, Seq Scan). */
  collectionScan: boolean;
  /** Index names the plan reads through. */
  indexes: string[];
  /** Every stage or node type, outermost first, for messages. */
  nodes: string[];
}

type Node = Record<string, unknown>;

export function summarize(explain: unknown): PlanSummary {
  const out: PlanSummary = { collectionScan: false, indexes: [], nodes: [] };
  const qp = (explain as { queryPlanner?: Node; stages?: Node[] })?.queryPlanner ?? firstCursorPlanner(explain);
  if (!qp) throw new Error(`no query plan in explain output: ${JSON.stringify(explain).slice(0, 300)}`);
  if (qp.Plan) walkPostgres(qp.Plan as Node, out);
  else walkMongo((qp.winningPlan as Node)?.queryPlan ?? qp.winningPlan, out);
  out.indexes = [...new Set(out.indexes)];
  return out;
}

/** An aggregation's explain keeps the plan of its $cursor stage. */
function firstCursorPlanner(explain: unknown): Node | undefined {
  const stages = (explain as { stages?: Node[] })?.stages;
  return (stages?.[0]?.$cursor as Node | undefined)?.queryPlanner as Node | undefined;
}

function walkMongo(node: unknown, out: PlanSummary): void {
  if (!node || typeof node !== "object") return;
  const n = node as Node;
  if (typeof n.stage === "string") {
    out.nodes.push(n.stage);
    if (n.stage === "COLLSCAN") out.collectionScan = true;
    if (typeof n.indexName === "string") out.indexes.push(n.indexName);
    // An _id index walked end to end (a sort by _id with nothing narrowing it) reads every document too.
    const bounds = (n.indexBounds as Record<string, string[]> | undefined)?._id;
    if (n.indexName === "_id_" && bounds?.length === 1 && /MinKey.*MaxKey|MaxKey.*MinKey/.test(bounds[0]!)) out.collectionScan = true;
    if (n.stage === "IDHACK" || n.stage === "EXPRESS_IXSCAN" || n.stage === "EXPRESS_CLUSTERED_IXSCAN") out.indexes.push("_id_");
  }
  for (const key of ["inputStage", "queryPlan"]) walkMongo(n[key], out);
  for (const child of (n.inputStages as unknown[]) ?? []) walkMongo(child, out);
}

function walkPostgres(node: Node, out: PlanSummary): void {
  const type = String(node["Node Type"]);
  out.nodes.push(type);
  if (type === "Seq Scan" || type === "Parallel Seq Scan") out.collectionScan = true;
  // The primary key bounded by the collection alone (no object_id in the condition) reads every document.
  if (node["Index Name"] === "_id_" && !String(node["Index Cond"] ?? "").includes("object_id")) out.collectionScan = true;
  if (typeof node["Index Name"] === "string") out.indexes.push(node["Index Name"] as string);
  for (const d of (node.IndexDetails as Node[] | undefined) ?? []) if (typeof d.indexName === "string") out.indexes.push(d.indexName);
  for (const child of (node.Plans as Node[] | undefined) ?? []) walkPostgres(child, out);
}

/**
 * Statistics as a running server has them. PostgreSQL plans from statistics that autovacuum gathers
 * about a minute after a table changes; a ledger bulk-loaded a moment ago has none, and the planner
 * then takes it for empty. Where the services script started PostgreSQL (RECTIFLOW_PG_URL), this runs
 * what autovacuum would; MongoDB plans without statistics and needs nothing.
 */
export async function refreshStatistics(opts: { vacuum?: boolean } = {}): Promise<void> {
  const url = process.env.RECTIFLOW_PG_URL;
  if (!url) return;
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // VACUUM too where a timing must not meet autovacuum's own pass over a fresh bulk load.
    await client.query(opts.vacuum ? "VACUUM ANALYZE" : "ANALYZE");
  } finally {
    await client.end();
  }
}

/** Rows (or index keys) a query read and rows it returned, from a plan that ran the query. */
export interface RowsRead {
  examined: number;
  returned: number;
  /** Where the counts come from. */
  source: "MongoDB executionStats" | "PostgreSQL EXPLAIN ANALYZE";
}

/**
 * Runs a find query under the engine's own instrumentation: MongoDB's executionStats (keys or documents
 * examined, whichever is more); on FerretDB, whose explain never runs the query, PostgreSQL's
 * EXPLAIN ANALYZE of the same find command as FerretDB hands it to DocumentDB.
 */
export async function rowsRead(query: mongoose.Query<unknown, unknown>): Promise<RowsRead> {
  const explain = (await query.clone().explain("executionStats")) as { executionStats?: { totalKeysExamined: number; totalDocsExamined: number; nReturned: number } };
  const stats = explain.executionStats;
  if (stats) return { examined: Math.max(stats.totalKeysExamined, stats.totalDocsExamined), returned: stats.nReturned, source: "MongoDB executionStats" };
  const url = process.env.RECTIFLOW_PG_URL;
  if (!url) throw new Error("the server gave no executionStats and no PostgreSQL is known (RECTIFLOW_PG_URL)");
  const options = query.getOptions() as { sort?: object; limit?: number };
  const spec = {
    find: query.model.collection.collectionName,
    filter: query.getFilter(),
    ...(options.sort ? { sort: options.sort } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
    ...(query.projection() ? { projection: query.projection() } : {}),
  };
  const { default: pg } = await import("pg");
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query("EXPLAIN (ANALYZE, FORMAT JSON) SELECT document FROM documentdb_api_catalog.bson_aggregation_find($1, $2::bytea)", [
      query.model.db.name,
      Buffer.from(mongoose.mongo.BSON.serialize(spec)),
    ]);
    const top = (res.rows[0]["QUERY PLAN"] as { Plan: Node }[])[0]!.Plan;
    let examined = 0;
    const walk = (n: Node) => {
      const type = String(n["Node Type"]);
      // The scans at the leaves: what they matched, plus what they read and then filtered out.
      if (/Scan$/.test(type) && !/Custom Scan|Bitmap Heap Scan/.test(type))
        examined += (Number(n["Actual Rows"] ?? 0) + Number(n["Rows Removed by Filter"] ?? 0)) * Number(n["Actual Loops"] ?? 1);
      for (const c of (n.Plans as Node[] | undefined) ?? []) walk(c);
    };
    walk(top);
    return { examined, returned: Number(top["Actual Rows"] ?? 0), source: "PostgreSQL EXPLAIN ANALYZE" };
  } finally {
    await client.end();
  }
}
