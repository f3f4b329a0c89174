import mongoose, { Schema } from "mongoose";

/**
 * When the notice sweep must look at a case next (null: nothing pending), and why a rung could not
 * be timed. Written only by the sweep; the case document only by the case service.
 */
const caseScheduleSchema = new Schema(
  {
    _id: { type: String, required: true },
    nextAt: { type: Date, default: null },
    version: { type: Number, required: true },
    problem: { type: String, default: null },
    computedAt: { type: Date, required: true },
  },
  { versionKey: false, collection: "case_schedules" },
);
caseScheduleSchema.index({ nextAt: 1, _id: 1 });
export const CaseSchedule = mongoose.model("CaseSchedule", caseScheduleSchema);

/** Where the sweep got to: cases updated after its last pass began are looked at again. */
const sweepStateSchema = new Schema({ _id: { type: String, required: true }, lastStart: { type: Date, required: true } }, { versionKey: false, collection: "sweep_state" });
export const SweepState = mongoose.model("SweepState", sweepStateSchema);
