/** Configuration from the environment, validated once at start; nothing else reads process.env. */
import { z } from "zod";

const PROXIES = "must be the number of proxies in front of the app (0 to 5; 2 for a TLS terminator and nginx), not true or false";

const schema = z.object({
  MONGODB_URI: z.string({ error: "MONGODB_URI is required (scripts/with-services.sh sets it)" }).regex(/^mongodb(\+srv)?:\/\//, {
    error: "MONGODB_URI must start with mongodb:// or mongodb+srv://",
  }),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, { error: "REDIS_URL must start with redis:// or rediss://" }).optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Signs session cookies; set the same value on every web process. Unset: a random one per process (sessions end at restart). */
  SESSION_SECRET: z.string().min(32, { error: "SESSION_SECRET must have at least 32 characters" }).optional(),
  /** Mark cookies Secure (behind HTTPS): sign-in then needs https, directly or as a trusted proxy's X-Forwarded-Proto says. */
  COOKIE_SECURE: z.enum(["0", "1", "true", "false"]).default("0").transform((v) => v === "1" || v === "true"),
  /** Bearer token for GET /metrics (Prometheus: `authorization: {credentials: …}`); unset: /metrics is off. */
  METRICS_TOKEN: z.string().min(16, { error: "METRICS_TOKEN must have at least 16 characters" }).optional(),
  /** A worker process serves GET /metrics on this port (it has no web server otherwise); needs METRICS_TOKEN. */
  METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** On SIGTERM, how long in-flight requests and running jobs may take before the process exits anyway. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(25_000),
  /**
   * How many proxies stand in front (2: a TLS terminator and nginx). The client's address is taken that many
   * entries back in X-Forwarded-For (login limits count it), the scheme from X-Forwarded-Proto (COOKIE_SECURE).
   */
  TRUST_PROXY: z.coerce
    .number({ error: PROXIES })
    .int({ error: PROXIES })
    .min(0, { error: PROXIES })
    .max(5, { error: PROXIES })
    .default(0),
  MAX_UPLOAD_MB: z.coerce.number().min(1).max(500).default(20),
  /** An imported .xlsx: the inflated size of the parts read (a zip bomb is refused as it inflates); a CSV: its size. */
  IMPORT_MAX_UNZIPPED_MB: z.coerce.number().min(1).max(1024).default(32),
  /** Rows of one imported list (the header and blank rows included). */
  IMPORT_MAX_ROWS: z.coerce.number().int().min(10).max(1_000_000).default(50_000),
  /** Characters in one cell of an imported list (Excel's own limit is 32,767). */
  IMPORT_MAX_CELL_CHARS: z.coerce.number().int().min(100).max(1_000_000).default(32_767),
  LOGIN_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** Seed the demo units, users and ledger into an empty database (npm start sets it). */
  DEMO_SEED: z
    .enum(["0", "1", "true", "false"])
    .default("0")
    .transform((v) => v === "1" || v === "true"),
  DEMO_PASSWORD: z.string().min(8, { error: "DEMO_PASSWORD must have at least 8 characters" }).default("rectiflow-demo"),
  /** Outgoing mail for notices, e.g. smtp://user:pass@mail.example.gov.cn:587; unset: email is skipped. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, { error: "SMTP_URL must start with smtp:// or smtps://" }).optional(),
  SMTP_FROM: z.string().default("整改办 <rectiflow@localhost>"),
  ISSUING_OFFICE: z.string().min(1).default("市生态环境保护督察整改工作领导小组办公室"),
  QUEUE_PREFIX: z.string().regex(/^[a-zA-Z0-9_-]+$/).default("rectiflow"),
  DELIVERY_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(8),
  /** First retry delay; later ones double (exponential backoff). */
  DELIVERY_BACKOFF_MS: z.coerce.number().int().min(10).default(30_000),
  /** How soon a job of a worker that died is taken up again (BullMQ stalled-job check). */
  STALLED_INTERVAL_MS: z.coerce.number().int().min(500).default(30_000),
  DELIVERY_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(10),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  SWEEP_CRON: z.string().default("* * * * *"),
  /** Where a link in a robot's message or an SMS leads: this app's address as users reach it. */
  PUBLIC_URL: z.url({ protocol: /^https?$/, error: "PUBLIC_URL must be an http(s) URL" }).default("http://localhost:3000"),
  /** Providers' base URLs (a private 政务微信 server has its own host; tests point them at local fakes). */
  WECOM_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://qyapi.weixin.qq.com"),
  DINGTALK_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://oapi.dingtalk.com"),
  FEISHU_BASE_URL: z.url({ protocol: /^https?$/ }).default("https://open.feishu.cn"),
  /** Aliyun dysms (SendSms, ACS3-HMAC-SHA256). Unset key: SMS deliveries fail with a message saying so. */
  SMS_ENDPOINT: z.url({ protocol: /^https?$/ }).default("https://dysmsapi.aliyuncs.com"),
  SMS_ACCESS_KEY_ID: z.string().min(1).optional(),
  SMS_ACCESS_KEY_SECRET: z.string().min(1).optional(),
  /** The approved signature (签名, 2–8 characters, without 【】) and template code (SMS_…). */
  SMS_SIGN_NAME: z.string().min(2).max(12).optional(),
  SMS_TEMPLATE_CODE: z.string().regex(/^SMS_\d+$/, { error: "SMS_TEMPLATE_CODE looks like SMS_123456789" }).optional(),
  /** The approved template's text with ${unit} ${level} ${ledger} ${title} ${deadline}: for the segment count. */
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the provider's template placeholders, not ours
  SMS_TEMPLATE_TEXT: z.string().min(1).default("${unit}：${level}，${ledger}“${title}”，办理期限${deadline}。请登录整改系统查看处理。"),
  /**
   * The morning digest (docs/channels.md, 八、晨间汇总): each working morning at this time (HH:MM, Asia/Shanghai)
   * every unit, the office and each leader get one message of what awaits them; "off": none, and every
   * level goes to robots and SMS at once.
   */
  DIGEST_TIME: z.string().regex(/^(off|([01]\d|2[0-3]):[0-5]\d)$/, { error: "DIGEST_TIME is HH:MM (Asia/Shanghai), e.g. 08:30, or off" }).default("08:30"),
  /** "Due soon" in the digest: the deadline within this many working days. */
  DIGEST_DUE_WORKDAYS: z.coerce.number().int().min(1).max(30).default(3),
  /** Items listed (linked) per section of a digest; the counts are whole. */
  DIGEST_ITEMS: z.coerce.number().int().min(1).max(20).default(5),
  /** Robots and SMS get a notice of this level or higher (LEVEL_RANK) one by one; lower ones wait for the digest. "all": every level. */
  DIGEST_INSTANT_LEVEL: z.enum(["all", "red", "supervision", "escalation"], { error: "DIGEST_INSTANT_LEVEL is all, red, supervision or escalation" }).default("red"),
  /** The worker touches this file every 30 s; a container health check reads its age. */
  HEARTBEAT_FILE: z.string().optional(),
  /** How often the worker re-asserts the sweep schedule in Redis (restores it after Redis lost it). */
  SCHEDULER_WATCHDOG_MS: z.coerce.number().int().min(100).default(60_000),
  /**
   * Anchored checkpoints (docs/ledger.md). The signer key, as `npm run ledger-key` prints it
   * (PRIVATE+KEY+name+id+key), or a file holding it. Unset: no checkpoints are signed or shown.
   */
  LEDGER_KEY: z.string().optional(),
  LEDGER_KEY_FILE: z.string().optional(),
  /** Verifier keys (name+id+key) of earlier signer keys, separated by commas or newlines: checkpoints signed before a rotation. */
  LEDGER_VERIFY_KEYS: z.string().optional(),
  /** The directory outside the database that checkpoints and leaf hashes are appended to (the worker that signs needs it). */
  LEDGER_DIR: z.string().optional(),
  /** When the worker signs a checkpoint (if the ledger grew), Asia/Shanghai. */
  LEDGER_CHECKPOINT_CRON: z.string().default("*/10 * * * *"),
  /** An RFC 3161 time-stamping authority: each checkpoint gets a token from it. */
  LEDGER_TSA_URL: z.string().regex(/^https?:\/\//, { error: "LEDGER_TSA_URL must start with http:// or https://" }).optional(),
});

export type Config = z.infer<typeof schema>;

const checked = schema.refine((c) => !c.METRICS_PORT || c.METRICS_TOKEN, {
  path: ["METRICS_PORT"],
  error: "METRICS_PORT needs METRICS_TOKEN (the metrics port answers only a scraper holding the token)",
});

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = checked.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
