/**
 * Which notices go to robots and SMS one by one (docs/channels.md, 八、晨间汇总): a rung at or above the
 * configured level (default 红色预警); a lower one waits for the morning digest, so a robot's 20 a
 * minute is never the bottleneck. The inbox, email and the webhook get every notice as before. Set once
 * per process from the configuration (web and worker both issue notices).
 */
import { LEVEL_RANK, type Level } from "../../workflows/index.ts";
import type { Config } from "../config.ts";

/** null: every level at once (no digest, or DIGEST_INSTANT_LEVEL=all). */
let instantFrom: Level | null = "red";

export function setInstantLevel(config: Pick<Config, "DIGEST_TIME" | "DIGEST_INSTANT_LEVEL">): void {
  instantFrom = config.DIGEST_TIME === "off" || config.DIGEST_INSTANT_LEVEL === "all" ? null : config.DIGEST_INSTANT_LEVEL;
}

/** The level from which robots and SMS are sent at once, or null for every level. */
export const instantLevel = (): Level | null => instantFrom;

/** Whether a notice of this level goes to robots and SMS at once. */
export const sentAtOnce = (level: Level | string): boolean => !instantFrom || (LEVEL_RANK[level as Level] ?? 0) >= LEVEL_RANK[instantFrom];
