/**
 * Every collection's schema and model, one file per area under models/ (each schema beside its model
 * and types); imported from here. Models register with mongoose on import, and ensureIndexes builds
 * the indexes of every registered one.
 */
export * from "./models/bulletins.ts";
export * from "./models/calendar.ts";
export * from "./models/cases.ts";
export * from "./models/directory.ts";
export * from "./models/ledger.ts";
export * from "./models/notice-settings.ts";
export * from "./models/notices.ts";
export * from "./models/sequences.ts";
export * from "./models/sessions.ts";
export { isDuplicateKey } from "./models/shared.ts";
export * from "./models/sweep.ts";
