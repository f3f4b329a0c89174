/**
 * Delivery of notices: one BullMQ job per (notice, channel), jobId from the notice id, retried
 * with exponential backoff; after the last attempt the channel shows `failed` with the error.
 * A job reloads its delivery, the notice and its case: a channel already sent is not sent again,
 * and a notice whose case moved on (state left the rule's states, or a new deadline revision) is
 * cancelled on that channel instead of sent.
 */
import { createHmac } from "node:crypto";
import type { Job, Queue } from "bullmq";
import nodemailer, { type Transporter } from "nodemailer";
import { inState } from "../../workflows/index.ts";
import { Case, Notice, NoticeDelivery, Unit, type CaseDoc } from "../db/models.ts";
import type { Channel, NoticeRecord } from "./issuer.ts";
import { noticeSubject, renderNoticeDocument } from "./render.ts";
import { cachedRules } from "./rules.ts";

export interface DeliveryOptions {
  attempts: number;
  backoffMs: number;
  smtpUrl?: string;
  smtpFrom: string;
  webhookTimeoutMs: number;
}

export const jobIdOf = (noticeId: string, channel: Channel) => `${noticeId}--${channel}`;

export interface PendingDelivery {
  noticeId: string;
  channel: string;
  status: string;
}

/** Queues pending deliveries. Safe to repeat: a job that still exists is not added twice. */
export async function enqueueDeliveries(queue: Queue, deliveries: PendingDelivery[], opts: DeliveryOptions): Promise<number> {
  const jobs = deliveries
    .filter((d) => d.status === "pending")
    .map(({ noticeId, channel }) => ({
      name: channel,
      data: { noticeId, channel: channel as Channel },
      opts: {
        jobId: jobIdOf(noticeId, channel as Channel),
        attempts: opts.attempts,
        backoff: { type: "exponential", delay: opts.backoffMs },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600 },
      },
    }));
  if (jobs.length) await queue.addBulk(jobs);
  return jobs.length;
}

/** Deliveries still pending in the ledger, e.g. after Redis lost its queue: to be queued again. */
export function pendingDeliveries(limit = 5000): Promise<PendingDelivery[]> {
  return NoticeDelivery.find({ status: "pending" }, { noticeId: 1, channel: 1, status: 1 }).limit(limit).lean<PendingDelivery[]>();
}

/** Why an automatic notice should no longer go out, or null. */
async function staleReason(n: NoticeRecord, c: CaseDoc | null): Promise<string | null> {
  if (n.manual || !n.ruleId) return null;
  if (!c) return "案件不存在";
  if (c.deadlineRevision !== n.revision) return "办理期限已调整（新的期限版本）";
  const rule = (await cachedRules()).find((r) => r.id === n.ruleId);
  if (rule && !inState(c.state, rule.states)) return "案件已进入下一环节";
  return null;
}

export class NoticeDeliverer {
  private mailer: Transporter | null;

  constructor(private readonly opts: DeliveryOptions) {
    this.mailer = opts.smtpUrl ? nodemailer.createTransport(opts.smtpUrl) : null;
  }

  /** The BullMQ processor: writes only its own delivery document. Throws to have BullMQ retry. */
  async process(job: Job<{ noticeId: string; channel: Channel }>): Promise<string> {
    const { noticeId, channel } = job.data;
    const _id = `${noticeId}:${channel}`;
    const delivery = await NoticeDelivery.findById(_id).lean();
    if (!delivery) return "no such delivery";
    if (delivery.status !== "pending") return `already ${delivery.status}`;
    const notice = await Notice.findById(noticeId).lean<NoticeRecord>();
    if (!notice) return "notice not issued (yet)";
    const c = await Case.findById(notice.caseId).lean<CaseDoc>();
    const stale = await staleReason(notice, c);
    if (stale) {
      await NoticeDelivery.updateOne({ _id }, { $set: { status: "cancelled", cancelReason: stale } });
      return `cancelled: ${stale}`;
    }
    const attempts = (delivery.attempts ?? 0) + 1;
    try {
      const target = await this.send(notice, channel);
      await NoticeDelivery.updateOne({ _id }, { $set: { status: "sent", sentAt: new Date(), target, lastError: null, attempts } });
      return `sent to ${target}`;
    } catch (e) {
      const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = (e as Error).message.slice(0, 1000);
      await NoticeDelivery.updateOne({ _id }, { $set: { lastError: message, attempts, ...(last ? { status: "failed" } : {}) } });
      throw e;
    }
  }
  private async send(n: NoticeRecord, channel: Channel): Promise<string> {
    if (channel === "inbox") return `inbox:${n.unitId}`;
    const unit = await Unit.findById(n.unitId).lean();
    if (!unit) throw new Error("责任单位不存在");
    const html = await renderNoticeDocument(n, { receipt: true });
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
    if (!unit.notify?.webhookSecret) throw new Error("未设置推送签名密钥，不发送未签名的推送");
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
    const signature = createHmac("sha256", unit.notify.webhookSecret).update(`${timestamp}.${body}`).digest("hex");
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
