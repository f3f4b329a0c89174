/**
 * Delivery of notices: one BullMQ job per (notice, channel), jobId from the notice id, retried
 * with exponential backoff; after the last attempt the channel shows `failed` with the error.
 * A job reloads the notice and its case: a channel already sent is not sent again, and a notice
 * whose case moved on (state left the rule's states, or a new deadline revision) is cancelled.
 */
import { createHmac } from "node:crypto";
import type { Job, Queue } from "bullmq";
import nodemailer, { type Transporter } from "nodemailer";
import type { NoticeRule } from "../../workflows/index.ts";
import { loadCalendar } from "../calendar/workdays.ts";
import { Case, Notice, NoticeRuleModel, Unit, type CaseDoc } from "../db/models.ts";
import { CHANNELS, type Channel, type NoticeRecord } from "./issuer.ts";
import { noticeSubject, renderNotice } from "./render.ts";

export interface DeliveryOptions {
  attempts: number;
  backoffMs: number;
  office: string;
  smtpUrl?: string;
  smtpFrom: string;
  webhookTimeoutMs: number;
}

export const jobIdOf = (noticeId: string, channel: Channel) => `${noticeId}--${channel}`;

/** Queues the pending channels of notices. Safe to repeat: a job that still exists is not added twice. */
export async function enqueueDeliveries(queue: Queue, notices: Pick<NoticeRecord, "_id" | "deliveries">[], opts: DeliveryOptions): Promise<number> {
  const jobs = notices.flatMap((n) =>
    CHANNELS.filter((c) => n.deliveries?.[c]?.status === "pending").map((channel) => ({
      name: channel,
      data: { noticeId: n._id, channel },
      opts: {
        jobId: jobIdOf(n._id, channel),
        attempts: opts.attempts,
        backoff: { type: "exponential", delay: opts.backoffMs },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    })),
  );
  if (jobs.length) await queue.addBulk(jobs);
  return jobs.length;
}

/** Notices with channels still pending, e.g. after Redis lost its queue: to be queued again. */
export async function pendingNotices(limit = 5000) {
  return Notice.find(
    { state: "issued", $or: CHANNELS.map((c) => ({ [`deliveries.${c}.status`]: "pending" })) },
    { _id: 1, deliveries: 1 },
  )
    .limit(limit)
    .lean<Pick<NoticeRecord, "_id" | "deliveries">[]>();
}

const inState = (state: string, states: string[]) => states.some((s) => state === s || state.startsWith(`${s}.`));

/** Why an automatic notice should no longer go out, or null. */
async function staleReason(n: NoticeRecord, c: CaseDoc | null): Promise<string | null> {
  if (n.manual || !n.ruleId) return null;
  if (!c) return "案件不存在";
  if (c.deadlineRevision !== n.revision) return "办理期限已调整（新的期限版本）";
  const rule = await NoticeRuleModel.findById(n.ruleId, { states: 1 }).lean<Pick<NoticeRule, "states">>();
  if (rule && !inState(c.state, rule.states)) return "案件已进入下一环节";
  return null;
}

export class NoticeDeliverer {
  private mailer: Transporter | null;

  constructor(private readonly opts: DeliveryOptions) {
    this.mailer = opts.smtpUrl ? nodemailer.createTransport(opts.smtpUrl) : null;
  }

  /** The BullMQ processor. Throws to have BullMQ retry. */
  async process(job: Job<{ noticeId: string; channel: Channel }>): Promise<string> {
    const { noticeId, channel } = job.data;
    const notice = await Notice.findById(noticeId).lean<NoticeRecord>();
    if (!notice) return "notice gone";
    if (notice.state === "cancelled") return "cancelled";
    if (notice.deliveries?.[channel]?.status !== "pending") return `already ${notice.deliveries?.[channel]?.status}`;
    const c = await Case.findById(notice.caseId).lean<CaseDoc>();
    const stale = await staleReason(notice, c);
    if (stale) {
      await Notice.updateOne({ _id: noticeId, state: "issued" }, { $set: { state: "cancelled", cancelReason: stale } });
      return `cancelled: ${stale}`;
    }
    try {
      const target = await this.send(notice, channel);
      await Notice.updateOne(
        { _id: noticeId },
        { $set: { [`deliveries.${channel}.status`]: "sent", [`deliveries.${channel}.sentAt`]: new Date(), [`deliveries.${channel}.target`]: target, [`deliveries.${channel}.lastError`]: null }, $inc: { [`deliveries.${channel}.attempts`]: 1 } },
      );
      return `sent to ${target}`;
    } catch (e) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = (e as Error).message.slice(0, 1000);
      await Notice.updateOne(
        { _id: noticeId },
        { $set: { [`deliveries.${channel}.lastError`]: message, ...(last ? { [`deliveries.${channel}.status`]: "failed" } : {}) }, $inc: { [`deliveries.${channel}.attempts`]: 1 } },
      );
      throw e;
    }
  }

  private async send(n: NoticeRecord, channel: Channel): Promise<string> {
    if (channel === "inbox") return `inbox:${n.unitId}`;
    const unit = await Unit.findById(n.unitId).lean();
    if (!unit) throw new Error("责任单位不存在");
    const html = renderNotice(n, { office: this.opts.office, unitName: unit.name, calendar: await loadCalendar() });
    if (channel === "email") {
      if (!this.mailer) throw new Error("未配置 SMTP_URL，无法发送邮件");
      const to = unit.notify?.emails ?? [];
      await this.mailer.sendMail({
        from: this.opts.smtpFrom,
        to,
        subject: noticeSubject(n),
        html,
        messageId: `<${n._id}@rectiflow>`,
        headers: { "X-Rectiflow-Notice-Id": n._id },
      });
      return to.join(",");
    }
    const url = unit.notify?.webhookUrl;
    if (!url) throw new Error("未配置推送地址");
    const body = JSON.stringify({
      noticeId: n._id,
      level: n.level,
      number: n.number,
      ledgerNumber: n.ledgerNumber,
      title: n.caseTitle,
      unit: unit.name,
      deadline: n.deadline,
      issuedAt: n.issuedAt,
      text: noticeSubject(n),
    });
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac("sha256", unit.notify?.webhookSecret ?? "").update(`${timestamp}.${body}`).digest("hex");
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        "idempotency-key": n._id,
        "x-rectiflow-timestamp": timestamp,
        "x-rectiflow-signature": `sha256=${signature}`,
      },
      body,
      signal: AbortSignal.timeout(this.opts.webhookTimeoutMs),
    });
    if (!res.ok) throw new Error(`推送地址返回 HTTP ${res.status}`);
    return url;
  }

  close() {
    this.mailer?.close();
  }
}
