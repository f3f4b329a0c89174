/**
 * The 考评 and 通报 pages: the scorecard with every figure linked to the notices and cases behind
 * it, and the monthly bulletin. Office and leaders see every unit; a unit sees its own figures only.
 * They read through the same functions as the API (src/notices/scorecard.ts, src/notices/bulletin.ts).
 */
import express, { type NextFunction, type Request, type Response } from "express";
import { LEVEL_LABELS, LEVELS, ROLE_LABELS, dutyOf, isIsoDate, shanghaiDate, type Actor, type CaseKind, type Level } from "../../../workflows/index.ts";
import type { Clock } from "../../clock.ts";
import { Unit, type UnitDoc } from "../../db/models.ts";
import { AppError } from "../../errors.ts";
import { loadRules } from "../../notices/rules.ts";
import { SCORING_RULES, quarterLabel, scorecard } from "../../notices/scorecard.ts";
import { csrfToken } from "../auth.ts";

const actorOf = (res: Response) => res.locals.actor as Actor | undefined;

function requireActor(req: Request, res: Response, next: NextFunction) {
  if (actorOf(res)) return next();
  res.redirect(`/login?next=${encodeURIComponent(req.originalUrl)}`);
}

export async function unitNames(): Promise<Map<string, string>> {
  const units = await Unit.find({}, { name: 1 }).lean<UnitDoc[]>();
  return new Map(units.map((u) => [u._id.toString(), u.name]));
}

/** A query value as one plain string, or undefined. */
const one = (v: unknown) => (typeof v === "string" && v ? v : undefined);

/** The period of a report: from..to as given (checked), or this year. */
export function periodOf(query: Record<string, unknown>, now: Date): { from: string; to: string } {
  const year = shanghaiDate(now).slice(0, 4);
  const from = one(query.from) ?? `${year}-01-01`;
  const to = one(query.to) ?? `${year}-12-31`;
  for (const [name, v] of [["起始日期", from], ["截止日期", to]] as const)
    if (!isIsoDate(v)) throw new AppError(422, "invalid_fields", `${name}应为有效日期，格式 YYYY-MM-DD`, { fields: [{ field: name === "起始日期" ? "from" : "to", message: `${name}应为有效日期，格式 YYYY-MM-DD` }] });
  if (from > to) throw new AppError(422, "invalid_fields", "起始日期不能晚于截止日期", { fields: [{ field: "from", message: "起始日期不能晚于截止日期" }] });
  return { from, to };
}

/** The levels that can cost a unit points or count against it: those of rules applying on the unit's time. */
export async function unitLevels(): Promise<Level[]> {
  const rules = await loadRules();
  const used = new Set(rules.filter((r) => r.holders.includes("unit")).map((r) => r.level));
  return LEVELS.filter((l) => used.has(l));
}

export function reportPages(deps: { clock: Clock }): express.Router {
  const router = express.Router();
  router.use(["/scorecard", "/bulletin"], requireActor);

  const page = (req: Request, res: Response, view: string, data: Record<string, unknown>) => {
    const actor = actorOf(res)!;
    res.render(`pages/${view}`, {
      ...data,
      me: { ...actor, roleLabel: ROLE_LABELS[actor.role], isOffice: actor.role === "office_admin" || actor.role === "office_staff", isAdmin: actor.role === "office_admin", isUnit: actor.role === "unit_user" },
      csrf: csrfToken(req),
      path: req.path,
    });
  };

  router.get("/scorecard", async (req, res) => {
    const actor = actorOf(res)!;
    const q = req.query as Record<string, unknown>;
    const { from, to } = periodOf(q, deps.clock.now());
    const isUnit = actor.role === "unit_user";
    // A unit's own figures only, whatever it asks for.
    const chosen = isUnit ? (actor.unitId ?? "-") : one(q.unit);
    const level = (LEVELS as readonly string[]).includes(one(q.level) ?? "") ? (one(q.level) as Level) : undefined;
    const [scores, names, levels] = await Promise.all([scorecard(from, to, isUnit ? chosen : undefined), unitNames(), unitLevels()]);
    const link = (params: Record<string, string | undefined>) =>
      `/scorecard?${new URLSearchParams(Object.entries({ from, to, ...params }).filter((e): e is [string, string] => e[1] !== undefined))}#lines`;
    const rows = scores.map((s, i) => ({
      rank: i,
      unitId: s.unitId,
      name: names.get(s.unitId) ?? s.unitId,
      points: s.points,
      cases: s.cases,
      casesLink: link({ unit: s.unitId }),
      counts: levels.map((l) => ({ n: s.counts[l] ?? 0, link: link({ unit: s.unitId, level: l }) })),
      letters: s.specialLetters.map((x) => ({ quarter: quarterLabel(x.quarter), link: link({ unit: s.unitId, level: "yellow" }) })),
      selected: s.unitId === chosen,
    }));
    const picked = scores.find((s) => s.unitId === chosen);
    const lines = (picked?.lines ?? [])
      .filter((l) => !level || l.level === level)
      .map((l) => ({
        ...l,
        levelLabel: LEVEL_LABELS[l.level as Level] ?? l.level,
        step: l.state ? (dutyOf(l.kind as CaseKind, l.state)?.step ?? l.state) : "—",
      }));
    page(req, res, "scorecard", {
      title: "考评",
      from,
      to,
      levels: levels.map((l) => LEVEL_LABELS[l]),
      rows,
      rules: SCORING_RULES,
      chosen: picked ? { name: names.get(picked.unitId) ?? picked.unitId, points: picked.points, level: level ? LEVEL_LABELS[level] : null } : null,
      lines,
      total: Math.round(scores.reduce((a, s) => a + s.points, 0) * 10) / 10,
      allUnits: isUnit ? [] : [...names].map(([id, name]) => ({ id, name, selected: id === chosen })),
    });
  });

  return router;
}
