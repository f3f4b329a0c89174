/** Command-line options of the scripts: node's parseArgs, with `--help` and a usage error printing the usage and exiting 2. */
import { parseArgs, type ParseArgsConfig } from "node:util";

export function cliArgs<O extends NonNullable<ParseArgsConfig["options"]>>(usage: string, options: O, positionals: { exactly?: number } = {}) {
  let parsed: ReturnType<typeof parseArgs<{ options: O & { help: { type: "boolean" } }; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: "boolean" as const } }, allowPositionals: true });
  } catch (e) {
    console.error(`${(e as Error).message}\n${usage}`);
    process.exit(2);
  }
  const count = positionals.exactly ?? 0;
  if ((parsed.values as { help?: boolean }).help || parsed.positionals.length !== count) {
    console.error(usage);
    process.exit(2);
  }
  return parsed;
}
