/** Progress of the long operations commands (backup, restore, verify-ledger). */

export interface OpsProgress {
  /** What is being worked on: a collection's name, or a step ("cases"). */
  step: string;
  done: number;
  /** An estimate where one is cheap to have. */
  total?: number;
  finished?: boolean;
}

/** Awaited at each step's start and end and every `PROGRESS_EVERY` documents (a test can act on the ledger between steps). */
export type OnProgress = (p: OpsProgress) => void | Promise<void>;

export const PROGRESS_EVERY = 1000;

/**
 * One line on stderr when a step ends, and at most every 2 s while it runs (also when stderr is a
 * file or a pipe, so a cron job's log shows that a long run is moving).
 */
export function stderrProgress(verb: string, intervalMs = 2000): OnProgress {
  let last = Date.now();
  let started = last;
  let current = "";
  return (p) => {
    const now = Date.now();
    if (p.step !== current) {
      current = p.step;
      started = now;
    }
    if (!p.finished && now - last < intervalMs) return;
    last = now;
    const rate = p.done / Math.max(0.001, (now - started) / 1000);
    const of = p.total !== undefined && !p.finished ? `/${p.total}` : "";
    process.stderr.write(`${verb} ${p.step}：${p.done}${of} 条${p.finished ? "，完成" : ""}（${Math.round(rate)} 条/秒）\n`);
  };
}
