/** 管理 → 队列: a read-only look at the notice queues (counts, failures, schedules), as queueSummary gives them. */
import { JOB_STATES, queueSummary, type QueueSummary } from "../../../queues.ts";
import type { AdminEditor } from "./forms.ts";

const QUEUE_LABELS: Record<string, string> = { "notice-sweep": "通知巡检", "notice-delivery": "通知投递" };
/** Job and scheduler names as people say them (delivery jobs are named by their channel). */
const JOB_LABELS: Record<string, string> = { sweep: "巡检", inbox: "站内投递", email: "邮件投递", webhook: "推送投递", wecom: "企业微信投递", dingtalk: "钉钉投递", feishu: "飞书投递", sms: "短信投递" };
const TIME_ZONES: Record<string, string> = { "Asia/Shanghai": "北京时间" };
const STATE_LABELS: Record<(typeof JOB_STATES)[number], string> = { waiting: "等待", active: "执行中", delayed: "延迟", completed: "已完成", failed: "失败" };

/** A cron pattern in words ("* * * * *" → 每分钟); one not of the usual shapes is described as a custom schedule. */
export function cronText(pattern: string): string {
  const f = pattern.trim().split(/\s+/);
  if (f.length !== 5) return `自定义周期（${pattern}）`;
  const [min, hour, dom, mon, dow] = f as [string, string, string, string, string];
  const daily = dom === "*" && mon === "*" && dow === "*";
  if (daily && min === "*" && hour === "*") return "每分钟";
  const every = /^\*\/(\d+)$/.exec(min);
  if (daily && every && hour === "*") return `每 ${every[1]} 分钟`;
  if (daily && /^\d+$/.test(min) && hour === "*") return `每小时第 ${min} 分`;
  if (daily && /^\d+$/.test(min) && /^\d+$/.test(hour)) return `每天 ${hour}:${min.padStart(2, "0")}`;
  return `自定义周期（${pattern}）`;
}

function queueView(q: QueueSummary) {
  return {
    name: q.name,
    label: QUEUE_LABELS[q.name] ?? q.name,
    counts: q.error ? [] : JOB_STATES.map((state) => ({ state, label: STATE_LABELS[state], n: q.counts[state] })),
    failed: q.failed.map((j) => ({ ...j, name: JOB_LABELS[j.name] ?? j.name })),
    schedulers: q.schedulers.map((s) => ({
      name: JOB_LABELS[s.name] ?? s.name,
      pattern: s.pattern ? cronText(s.pattern) : s.every ? `每 ${Math.round(s.every / 1000)} 秒` : "",
      tz: s.tz ? (TIME_ZONES[s.tz] ?? s.tz) : "",
      next: s.next,
      iterations: s.iterations,
    })),
    error: q.error ? `无法读取队列：${q.error}` : null,
  };
}

export const queueMonitor: AdminEditor = (router, { page, deps }) => {
  router.get("/queues", async (req, res) => {
    const queues = (await queueSummary(deps.queues)).map(queueView);
    page(req, res, "queues", { title: "队列监控", queues, none: queues.length === 0, at: deps.clock.now() });
  });
};
