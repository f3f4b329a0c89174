import { pino } from "pino";

/** One logger for the process; level from LOG_LEVEL. */
export const log = pino({ level: process.env.LOG_LEVEL ?? "info", base: { app: "rectiflow" } });
