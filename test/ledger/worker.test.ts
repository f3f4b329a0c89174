import { expect } from "chai";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../../src/config.ts";
import { openCheckpoint, readSavedCheckpoints } from "../../src/ledger/log.ts";
import { startWorker, type RunningWorker } from "../../src/worker.ts";
import { makeWorld, newInspection } from "../support/fixtures.ts";
import { freshPrefix, until } from "../support/receivers.ts";
import { ledgerSetup } from "./support.ts";

describe("the worker signs checkpoints", function () {
  this.timeout(60_000);
  let worker: RunningWorker | null = null;
  const setup = ledgerSetup();
  after(async () => {
    await worker?.close();
    setup.remove();
  });

  it("at start, and soon after an import registered many cases, without waiting for its schedule", async () => {
    const w = await makeWorld();
    await w.service.createCase(newInspection(1), w.office);
    const config = loadConfig({
      ...process.env,
      QUEUE_PREFIX: freshPrefix("l"),
      SWEEP_CRON: "0 0 1 1 *",
      LEDGER_CHECKPOINT_CRON: "0 0 1 1 *",
      SCHEDULER_WATCHDOG_MS: "200",
      LEDGER_KEY: setup.key,
      LEDGER_DIR: setup.dir,
    });
    worker = await startWorker(config, w.clock);
    const first = await until("the first checkpoint", async () => (await readSavedCheckpoints(setup.dir))[0]);
    expect(openCheckpoint(first.note, setup.verifiers).size).to.equal(1);

    const r = await w.service.createCases(Array.from({ length: 120 }, (_, i) => ({ input: newInspection(100 + i) })), w.office);
    expect(r.created).to.equal(120);
    const second = await until("a checkpoint after the import", async () => (await readSavedCheckpoints(setup.dir))[1]);
    expect(openCheckpoint(second.note, setup.verifiers).size).to.equal(121);
    expect(readdirSync(join(setup.dir, "checkpoints"))).to.have.length(2);
  });
});
