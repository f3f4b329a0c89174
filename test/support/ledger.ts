/** Looking at the ledger from tests: a fingerprint of everything a write could touch. */
import mongoose from "mongoose";
import { Case, CaseHistory, Notice, NoticeDelivery, NoticeRuleModel, NoticeTextModel, OfficeSettingsModel, Sequence, SmsSettingsModel, Unit, User } from "../../src/db/models.ts";

/** Everything a write could touch (sessions aside): compare before and after a request that must write nothing. */
export async function ledgerState(): Promise<string> {
  const db = mongoose.connection.db!;
  const [cases, history, notices, units, users, rules, files, seqs, deliveries, texts, settings, sms] = await Promise.all([
    Case.find({}, { version: 1, state: 1, updatedAt: 1 }).sort({ _id: 1 }).lean(),
    CaseHistory.countDocuments(),
    Notice.find({}, { readAt: 1, ackAt: 1, number: 1, updatedAt: 1 }).sort({ _id: 1 }).lean(),
    Unit.find({}, { updatedAt: 1 }).sort({ _id: 1 }).lean(),
    User.find({}, { updatedAt: 1, role: 1, active: 1, passwordHash: 1 }).sort({ _id: 1 }).lean(),
    NoticeRuleModel.find({}, { updatedAt: 1 }).sort({ _id: 1 }).lean(),
    db.collection("attachments.files").countDocuments(),
    Sequence.countDocuments(),
    NoticeDelivery.find({}, { status: 1, attempts: 1 }).sort({ _id: 1 }).lean(),
    NoticeTextModel.find({}, { updatedAt: 1 }).sort({ _id: 1 }).lean(),
    OfficeSettingsModel.find({}).lean(),
    SmsSettingsModel.find({}).lean(),
  ]);
  return JSON.stringify({ cases, history, notices, units, users, rules, files, seqs, deliveries, texts, settings, sms });
}
