/**
 * Delivery of notices: one BullMQ job per (notice, channel), jobId from the notice id, retried
 * with exponential backoff; after the last attempt the channel shows `failed` with the error.
 * A job reloads its delivery, the notice and its case: a channel already sent is not sent again,
 * and a notice whose case moved on (state left the rule's states, or a new deadline revision) is
 * cancelled on that channel instead of sent.
 */
import { createHmac } from "node:crypto";
import { DelayedError, UnrecoverableError, type Job, type Queue } from "bullmq";
import type { Redis } from "ioredis";
import mongoose from "mongoose";
import nodemailer, { type Transporter } from "nodemailer";
import { inState } from "../../workflows/index.ts";
import { Case, Notice, NoticeDelivery, Unit, type CaseDoc } from "../db/models.ts";
import { ProviderError, ROBOTS, noticeLink, robotRequest, textOf, type ProviderUrls, type RobotName, type RobotText } from "./channels.ts";
import { digestText, findDigest, isDigestId, type DigestRecord } from "./digest.ts";
import { digestRecipients } from "./digest-recipients.ts";
import { deliveryIdOf, type Channel, type NoticeRecord } from "./issuer.ts";
import { loadTarget } from "./recipients.ts";
import { documentOf, noticeSubject, renderNoticeDocument } from "./render.ts";
import { RobotLimiter } from "./robot-limits.ts";
import { cachedRules } from "./rules.ts";
import { SmsAmbiguous, checkSmsAnswer, smsRequest, type SmsSettings } from "./sms.ts";
import { loadSmsSettings } from "./sms-settings.ts";
import type { StoredTargets } from "./targets.ts";

export interface DeliveryOptions {
  attempts: number;
  backoffMs: number;
  smtpUrl?: string;
  smtpFrom: string;
  webhookTimeoutMs: number;
  publicUrl: string;
  providers: ProviderUrls;
  sms: SmsSettings;
  /** Where the robots' shared rate limits live (the queue's prefix). */
  limitPrefix: string;
}

/** Whether a fetch failed before the request left (nothing can have reached the provider). */
const neverSent = (e: unknown) => /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH)$/.test(((e as { cause?: { code?: string } }).cause?.code ?? "") as string);

/** BullMQ's job id (no ":" allowed there): one per delivery. */
export const jobIdOf = (noticeId: string, channel: Channel, recipient?: string | null) => (recipient ? `${noticeId}--${channel}--${recipient}` : `${noticeId}--${channel}`);

export interface PendingDelivery {
  noticeId: string;
  channel: string;
  status: string;
  /** The office's or a leader's channel (an addressee's id); none: the unit's. */
  recipient?: string | null;
}

/** Queues pending deliveries. Safe to repeat: a job that still exists is not added twice. */
export async function enqueueDeliveries(queue: Queue, deliveries: PendingDelivery[], opts: DeliveryOptions): Promise<number> {
  const jobs = deliveries
    .filter((d) => d.status === "pending")
    .map(({ noticeId, channel, recipient }) => ({
      name: channel,
      data: { noticeId, channel: channel as Channel, ...(recipient ? { recipient } : {}) },
      opts: {
        jobId: jobIdOf(noticeId, channel as Channel, recipient),
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
  return NoticeDelivery.find({ status: "pending" }, { noticeId: 1, channel: 1, status: 1, recipient: 1 }).limit(limit).lean<PendingDelivery[]>();
}

/** Pending deliveries written since `since`: notices issued outside the sweep (by hand, or a 退回 told to the unit). */
export function pendingSince(since: Date, limit = 5000): Promise<PendingDelivery[]> {
  return NoticeDelivery.find({ status: "pending", createdAt: mongoose.trusted({ $gte: since }) }, { noticeId: 1, channel: 1, status: 1, recipient: 1 }).limit(limit).lean<PendingDelivery[]>();
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
  private limiter: RobotLimiter | null;

  /** redis: for the robots' shared rate limits (without it, robot channels fail as not set up). */
  constructor(
    private readonly opts: DeliveryOptions,
    redis?: Redis,
  ) {
    this.mailer = opts.smtpUrl ? nodemailer.createTransport(opts.smtpUrl) : null;
    this.limiter = redis ? new RobotLimiter(redis, opts.limitPrefix) : null;
  }

  /**
   * The BullMQ processor: writes only its own delivery document. Throws to have BullMQ retry; a
   * provider's permanent refusal fails at once (UnrecoverableError); a robot over its rate limit
   * moves the job to delayed (DelayedError: no attempt spent).
   */
  async process(job: Job<{ noticeId: string; channel: Channel; recipient?: string }>, token?: string): Promise<string> {
    const { noticeId, channel, recipient } = job.data;
    const _id = deliveryIdOf(noticeId, channel, recipient);
    const delivery = await NoticeDelivery.findById(_id).lean();
    if (!delivery) return "no such delivery";
    if (delivery.status !== "pending") return `already ${delivery.status}`;
    // A morning digest is sent as it was listed (digest.ts); it has no case to have moved on.
    const digest = isDigestId(noticeId) ? await findDigest(noticeId) : null;
    if (isDigestId(noticeId) && !digest) return "digest not issued (yet)";
    const notice = digest ? null : await Notice.findById(noticeId).lean<NoticeRecord>();
    if (!digest && !notice) return "notice not issued (yet)";
    const stale = notice ? await staleReason(notice, await Case.findById(notice.caseId).lean<CaseDoc>()) : null;
    if (stale) {
      await NoticeDelivery.updateOne({ _id }, { $set: { status: "cancelled", cancelReason: stale } });
      return `cancelled: ${stale}`;
    }
    const attempts = (delivery.attempts ?? 0) + 1;
    try {
      const target = digest ? await this.sendDigest(digest, _id, channel, job, token) : await this.send(notice!, { _id, channel, recipient: recipient ?? null, mobiles: delivery.mobiles ?? null, feishuAt: (delivery.feishuAt ?? null) as { id: string | null; name: string }[] | null }, job, token, delivery.dispatchedAt ?? null);
      await NoticeDelivery.updateOne({ _id }, { $set: { status: "sent", sentAt: new Date(), target, lastError: null, attempts, waitUntil: null } });
      return `sent to ${target}`;
    } catch (e) {
      if (e instanceof DelayedError) throw e;
      const permanent = (e instanceof ProviderError && e.outcome === "permanent") || e instanceof SmsAmbiguous;
      const last = permanent || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      const message = (e as Error).message.slice(0, 1000);
      await NoticeDelivery.updateOne({ _id }, { $set: { lastError: message, attempts, waitUntil: null, ...(last ? { status: "failed" } : {}) } });
      throw permanent ? new UnrecoverableError(message) : e;
    }
  }

  /** Sends to a group robot once the robot's shared rate limit lets it; the provider's answer decides. */
  private async sendRobot(_id: string, channel: RobotName, targets: StoredTargets | null, message: RobotText, job: Job, token?: string): Promise<string> {
    const req = robotRequest(channel, this.opts.providers, targets, message);
    if (!this.limiter) throw new ProviderError("工作进程未连接 Redis，无法按机器人限额发送", "retry");
    // A robot has no idempotency key: while one worker sends, a second one given the same job (its
    // lock lost under load) waits for the lease instead of sending the message again.
    const lease = new Date(Date.now() + this.opts.webhookTimeoutMs + 5_000);
    const now = new Date();
    const claimed = await NoticeDelivery.updateOne({ _id, status: "pending", $or: [{ sendingUntil: null }, { sendingUntil: mongoose.trusted({ $lt: now }) }] }, { $set: { sendingUntil: lease } });
    if (claimed.modifiedCount !== 1) {
      // Try again when the holder's lease ends: by then it has recorded the send, or it died and its lease lapsed.
      const held = await NoticeDelivery.findById(_id, { sendingUntil: 1 }).lean();
      await job.moveToDelayed(Math.max(Date.now() + 100, (held?.sendingUntil?.getTime() ?? lease.getTime()) + 50), token);
      throw new DelayedError();
    }
    const release = () => NoticeDelivery.updateOne({ _id }, { $set: { sendingUntil: null } });
    const wait = await this.limiter.take(req.robot, req.windows, String(job.id));
    if (wait > 0) {
      const until = Date.now() + wait;
      await NoticeDelivery.updateOne({ _id }, { $set: { waitUntil: new Date(until), sendingUntil: null } });
      await job.moveToDelayed(until, token);
      throw new DelayedError();
    }
    const { url, body } = req.build(new Date());
    try {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8" },
        body,
        redirect: "manual",
        signal: AbortSignal.timeout(this.opts.webhookTimeoutMs),
      }).catch((e: Error) => {
        // The URL carries the key: only the cause's code is kept.
        throw new ProviderError(`无法连接${req.target}服务（${(e as { cause?: { code?: string } }).cause?.code ?? e.name}）`, "retry");
      });
      req.check(res.status, await res.text());
    } catch (e) {
      await release();
      if (e instanceof ProviderError && e.blockMs) await this.limiter.block(req.robot, e.blockMs);
      throw e;
    }
    return req.target;
  }

  /**
   * Sends an SMS at most once (see sms.ts): the hand-over is recorded before the request; a job that
   * finds it recorded by an earlier attempt does not send. A definite refusal clears the record, so
   * its retry may send.
   */
  private async sendSms(n: NoticeRecord, _id: string, unitName: string, mobiles: string[], dispatchedAt: Date | null): Promise<string> {
    if (dispatchedAt) throw new SmsAmbiguous(`发送结果不明：${dispatchedAt.toISOString()} 已交短信服务发送，未收到应答（进程中断或连接断开）；为免重复短信不再自动重发，请在短信服务控制台按外部流水号 ${_id} 核实`);
    const settings = await loadSmsSettings(this.opts.sms);
    const send = smsRequest(settings, n, unitName, mobiles, _id, new Date());
    const claimed = await NoticeDelivery.updateOne({ _id, status: "pending", dispatchedAt: null }, { $set: { dispatchedAt: new Date() } });
    if (claimed.modifiedCount !== 1) throw new SmsAmbiguous("发送结果不明：另一次发送已在进行，为免重复短信不再自动重发");
    const secrets = [settings.accessKeySecret ?? ""];
    let res: Response;
    try {
      res = await fetch(send.request.url, { method: "POST", headers: send.request.headers, body: send.request.body, signal: AbortSignal.timeout(this.opts.webhookTimeoutMs) });
    } catch (e) {
      if (neverSent(e)) {
        await NoticeDelivery.updateOne({ _id }, { $set: { dispatchedAt: null } });
        throw new ProviderError(`无法连接短信服务（${(e as { cause?: { code?: string } }).cause?.code}）`, "retry");
      }
      throw new SmsAmbiguous(`发送结果不明：请求已发出但未收到应答（${(e as Error).name}）；为免重复短信不再自动重发，请在短信服务控制台按外部流水号 ${_id} 核实`);
    }
    const text = await res.text().catch(() => "");
    try {
      checkSmsAnswer(res.status, text, secrets);
    } catch (e) {
      if (e instanceof ProviderError) await NoticeDelivery.updateOne({ _id }, { $set: { dispatchedAt: null } });
      throw e;
    }
    return send.target;
  }

  /**
   * Sends one delivery: the unit's own channel, or the office's or a leader's (`recipient`), with the
   * mobiles resolved at issue (@-mentions, SMS) where the delivery kept them, else the target's own.
   */
  private async send(n: NoticeRecord, d: { _id: string; channel: Channel; recipient: string | null; mobiles: string[] | null; feishuAt?: { id: string | null; name: string }[] | null }, job: Job, token: string | undefined, dispatchedAt: Date | null): Promise<string> {
    const { channel } = d;
    if (channel === "inbox") return `inbox:${n.unitId}`;
    const unit = n.unitId ? await Unit.findById(n.unitId, { name: 1, notify: 1 }).lean() : null;
    if (!unit && !d.recipient) throw new Error("责任单位不存在");
    const to = d.recipient ? await loadTarget(d.recipient) : null;
    if (d.recipient && !to) throw new ProviderError("接收方已删除", "permanent");
    const notify = ((to ? to.notify : unit?.notify) ?? null) as (StoredTargets & { emails?: string[] }) | null;
    const named = (c: "wecom" | "dingtalk") => (d.mobiles && notify?.[c] ? { ...notify, [c]: { ...notify[c], mobiles: d.mobiles } } : notify);
    const label = to ? `（${to.title ? `${to.title} ` : ""}${to.name}）` : "";
    if ((ROBOTS as readonly string[]).includes(channel)) {
      const text = { ...textOf(n, await documentOf(n), noticeLink(this.opts.publicUrl, n)), ...(channel === "feishu" && d.feishuAt?.length ? { feishuAt: d.feishuAt } : {}) };
      return `${await this.sendRobot(d._id, channel as RobotName, channel === "wecom" || channel === "dingtalk" ? named(channel) : notify, text, job, token)}${label}`;
    }
    if (channel === "sms") return `${await this.sendSms(n, d._id, unit?.name ?? "", d.mobiles ?? notify?.sms?.mobiles ?? [], dispatchedAt)}${label}`;
    const html = await renderNoticeDocument(n, { receipt: !d.recipient });
    if (channel === "email") {
      if (!this.mailer) throw new Error("未配置 SMTP_URL，无法发送邮件");
      const to = notify?.emails ?? [];
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
    if (!unit) throw new Error("责任单位不存在");
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

  /** A morning digest to a robot or by email, to the recipient's channels as they are now. */
  private async sendDigest(d: DigestRecord, _id: string, channel: Channel, job: Job, token?: string): Promise<string> {
    const [r] = await digestRecipients([d.recipient.key]);
    if (!r) throw new ProviderError("汇总的接收方已不存在或已停用", "permanent");
    const text = digestText(d, this.opts.publicUrl);
    if ((ROBOTS as readonly string[]).includes(channel)) return this.sendRobot(_id, channel as RobotName, r.robots, text, job, token);
    if (channel !== "email") throw new ProviderError(`晨间汇总不经此渠道发送：${channel}`, "permanent");
    if (!this.mailer) throw new Error("未配置 SMTP_URL，无法发送邮件");
    if (!r.emails.length) throw new ProviderError("接收方未配置电子邮箱", "permanent");
    await this.mailer.sendMail({
      from: this.opts.smtpFrom,
      to: r.emails,
      subject: text.subject,
      text: [...text.paragraphs, `查看全部：${text.link}`].join("\n\n"),
      messageId: `<${d._id}@rectiflow>`,
      headers: { "X-Rectiflow-Notice-Id": d._id },
    });
    return r.emails.join(",");
  }

  close() {
    this.mailer?.close();
  }
}
