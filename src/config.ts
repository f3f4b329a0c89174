/** Configuration from the environment, validated once at start; nothing else reads process.env. */
import { z } from "zod";

const schema = z.object({
  MONGODB_URI: z.string({ error: "MONGODB_URI is required (scripts/with-services.sh sets it)" }).regex(/^mongodb(\+srv)?:\/\//, {
    error: "MONGODB_URI must start with mongodb:// or mongodb+srv://",
  }),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, { error: "REDIS_URL must start with redis:// or rediss://" }).optional(),
  PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DEMO_PASSWORD: z.string().min(8, { error: "DEMO_PASSWORD must have at least 8 characters" }).default("rectiflow-demo"),
});

export type Config = z.infer<typeof schema>;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return parsed.data;
}
