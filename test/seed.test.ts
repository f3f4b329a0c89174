/**
 * The demo ledger is lived through, not written: its notices are the sweep's, issued by the real rules
 * as the clock moved day by day (so no unit is charged for the office's time, and a late registration
 * gets one notice).
 */
import { expect } from "chai";
import mongoose from "mongoose";
import { Case, CaseHistory, Notice, User } from "../src/db/models.ts";
import { seedDemoLedger, seedDirectory } from "../src/seed.ts";
import { resetLedger } from "./support/fixtures.ts";

describe("the demo ledger", function () {
  this.timeout(120_000);
  const now = new Date("2026-11-30T14:00:00+08:00");
  before(async () => {
    await resetLedger();
    await User.deleteMany({});
    await seedDemoLedger(await seedDirectory("demo-password-1"), now);
  });
  after(async () => {
    await resetLedger();
    await User.deleteMany({});
  });

  it("is built through the case service and the sweep: every notice the system's, none dated after today", async () => {
    expect(await Case.countDocuments()).to.be.greaterThan(50);
    const notices = await Notice.find({}, { issuedBy: 1, issuedAt: 1, holder: 1, inbox: 1, points: 1, supersededBy: 1, level: 1 }).lean();
    expect(notices.length).to.be.greaterThan(20);
    expect(notices.every((n) => n.issuedBy.id === "system" && n.issuedAt <= now)).to.equal(true);
    // Rungs were issued over the months, as the days went by, not at once today.
    expect(new Set(notices.map((n) => n.issuedAt.toISOString().slice(0, 10))).size).to.be.greaterThan(10);
    // Publicity periods ended by the system, as the worker ends them.
    expect(await CaseHistory.countDocuments({ type: "PUBLICITY_END", "actor.id": "system" })).to.be.greaterThan(0);
  });

  it("charges no unit for the office's time, and the late registration got 受理超期 alone", async () => {
    const office = await Notice.find({ holder: "office" }).lean();
    expect(office.length).to.be.greaterThan(0);
    expect(office.every((n) => n.points === 0 && (n.supersededBy ? n.inbox === null : n.inbox === "office"))).to.equal(true);
    const late = (await Case.findOne({ title: mongoose.trusted({ $regex: "^（补录）" }) }).lean())!;
    const its = await Notice.find({ caseId: late._id.toString() }).lean();
    expect(its.map((n) => [n.level, !!n.supersededBy]).sort()).to.deep.equal([
      ["accept_overdue", false],
      ["accept_warning", true],
    ]);
    expect(await Notice.countDocuments({ ackAt: mongoose.trusted({ $ne: null }) })).to.be.greaterThan(0);
  });
});
