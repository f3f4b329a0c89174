/**
 * The case service: the only writer of cases. Applying an event is
 * load → restore snapshot → ask the machine → append the sealed history entry, which carries the
 * new snapshot (the commit point: its key `<caseId>:<version+1>` admits one writer per version)
 * → project the new state onto the case document → return.
 * A crash between append and projection loses nothing: the next read rolls the case forward
 * from its history, and the next event's append fails on the unprojected entry's key and does so. Routes, workers and importers all come through here.
 * Beside it: projection.ts (what a snapshot writes on the case document), history-store.ts (appending and
 * reading the chain, idempotent replay), history.ts (the chain's hashes), backfill.ts (start-time migrations).
 */
import mongoose from "mongoose";
import {
  allowedEvents,
  behindMargin,
  blockedEvents,
  eventTypesOf,
  handledEvents,
  isOfficeRole,
  restore,
  ruleViolations,
  shanghaiDate,
  situationViolations,
  stateKey,
  stateLabel,
  step,
  toldToUnit,
  payloadSchemaOf,
  type Actor,
  type CaseEvent,
  type CaseKind,
  type StateValue,
} from "../../workflows/index.ts";
import { systemClock, type Clock } from "../clock.ts";
import { Case, CaseHistory, Notice, isDuplicateKey, nextSeq, type CaseDoc } from "../db/models.ts";
import { activeUnitIds, assertUnitsExist } from "../directory.ts";
import { issueForEvent } from "../notices/issuer.ts";
import { cachedRules } from "../notices/rules.ts";
import { log } from "../log.ts";
import { AppError, duplicate, forbidden, fromZod, invalid, notAllowedInState, notFound, notNow, versionConflict } from "../errors.ts";
import { canSee } from "./access.ts";
import { facetsOf, moveCounts } from "./counts.ts";
import { gramsOf } from "./grams.ts";
import { assertAttachments } from "./attachments.ts";
import { canonicalJson, follows, genesisHash, seal, sha256, type ChainEntry } from "./history.ts";
import { entryDocument, findByKey, historyQuery, insertEntry, insertedBefore, replay } from "./history-store.ts";
import { initialSnapshot, project, snapshotOf, type StoredSnapshot } from "./projection.ts";
import { newCaseSchema, type NewCase } from "./schemas.ts";

export interface EventCommand {
  type: string;
  payload?: unknown;
  /** The version the sender saw; a different current version is a conflict. */
  expectedVersion?: number;
  /** The same key from the same actor returns the first result and applies nothing again. */
  idempotencyKey?: string;
}

/** The first history entry's type (default "CREATE") and what its payload records beside the case's fields. */
export interface NewCaseOptions {
  entryType?: string;
  entryNote?: Record<string, unknown>;
}

export interface Applied {
  case: CaseDoc;
  entry: ChainEntry;
  replayed: boolean;
}

/** The units a new case's planned assignment names (before validation: anything not an id is refused later). */
function plannedUnitsOf(input: NewCase): string[] {
  const i = input as { plannedLeadUnitId?: unknown; plannedCoUnitIds?: unknown };
  return [i.plannedLeadUnitId, ...(Array.isArray(i.plannedCoUnitIds) ? i.plannedCoUnitIds : [])].filter((x): x is string => typeof x === "string");
}

const toObjectId = (id: string) => (mongoose.isObjectIdOrHexString(id) ? new mongoose.Types.ObjectId(id) : null);

/** Who registers cases: the office (units and leaders are told so, also before they fill in a form). */
export function assertMayRegister(actor: Actor): void {
  if (!isOfficeRole(actor.role)) throw forbidden("只有整改办可以登记案件");
}

export class CaseService {
  constructor(
    private readonly clock: Clock = systemClock,
    /** The behind-schedule margin of a kind's rules (序时进度), or null when no rule has one. */
    private readonly behindMarginOf: (kind: CaseKind) => Promise<number | null> = async (kind) => behindMargin(kind, await cachedRules()),
  ) {}

  /**
   * Registers a case (office only). Complaints get XF-YYYY-NNNNNN; inspections keep their list number.
   * opts: the first history entry's type (default "CREATE"; the importer writes "IMPORT") and what
   * its payload records beside the case's fields (the importer: the file and row).
   */
  async createCase(input: NewCase, actor: Actor, opts?: NewCaseOptions): Promise<CaseDoc> {
    const { entry, doc } = await this.prepareCase(input, actor, opts, await activeUnitIds(plannedUnitsOf(input)));
    // The first entry goes in first, so a case document never exists without it.
    await insertEntry(entry);
    try {
      const [created] = await Case.create([doc], { timestamps: false });
      const stored = created!.toObject() as CaseDoc;
      await moveCounts([[null, facetsOf(stored)]]);
      return stored;
    } catch (e) {
      await CaseHistory.deleteOne({ _id: entry._id });
      if (isDuplicateKey(e)) throw duplicate("ledgerNumber", `台账编号“${String(doc.ledgerNumber)}”已存在`);
      throw e;
    }
  }

  /**
   * Registers several cases exactly as createCase does each (the importer), in two bulk inserts:
   * their first entries, then the cases. One insert per document would cost a round trip and a
   * commit each. In order: when an item fails, the ones before it are registered and the ones
   * after it are not.
   */
  async createCases(items: { input: NewCase; opts?: NewCaseOptions }[], actor: Actor): Promise<{ created: number; failed: { index: number; error: unknown } | null }> {
    const ready: { entryId: string; ledgerNumber: unknown; entry: Record<string, unknown>; doc: Record<string, unknown> }[] = [];
    let failed: { index: number; error: unknown } | null = null;
    // The planned units of all items looked up at once.
    const active = await activeUnitIds(items.flatMap((i) => plannedUnitsOf(i.input)));
    for (const [index, item] of items.entries()) {
      try {
        const { entry, doc } = await this.prepareCase(item.input, actor, item.opts, active);
        // Cast and defaulted without a mongoose document each, as one entry is (entryDocument).
        ready.push({
          entryId: entry._id,
          ledgerNumber: doc.ledgerNumber,
          entry: entryDocument(entry),
          doc: Case.applyDefaults(Case.castObject(doc)),
        });
      } catch (error) {
        failed = { index, error };
        break;
      }
    }
    // Each failure below comes at or before the one already noted, so the last one noted is the first.
    let entries = ready.length;
    if (entries) {
      try {
        await CaseHistory.collection.insertMany(ready.map((r) => r.entry), { ordered: true, ignoreUndefined: true });
      } catch (error) {
        entries = insertedBefore(error) ?? 0;
        failed = { index: entries, error };
      }
    }
    let cases = entries;
    if (cases) {
      try {
        await Case.collection.insertMany(ready.slice(0, entries).map((r) => r.doc), { ordered: true, ignoreUndefined: true });
      } catch (error) {
        const known = insertedBefore(error);
        cases = known ?? 0;
        // Entries whose case is surely not in go again; on an unknown outcome, or if this fails too, they
        // stay (an entry without its case is harmless, the reverse is not).
        if (known !== null)
          await CaseHistory.deleteMany({ _id: mongoose.trusted({ $in: ready.slice(known, entries).map((r) => r.entryId) }) }).catch(() => undefined);
        const number = String(ready[cases]!.ledgerNumber);
        failed = { index: cases, error: isDuplicateKey(error) ? duplicate("ledgerNumber", `台账编号“${number}”已存在`) : error };
      }
      // On an unknown outcome none are counted: verify-ledger finds the difference, a rebuild mends it.
      await moveCounts(ready.slice(0, cases).map((r) => [null, facetsOf(r.doc as Parameters<typeof facetsOf>[0])]));
    }
    return { created: cases, failed };
  }

  /** A new case checked and its first history entry sealed, ready to insert. */
  private async prepareCase(input: NewCase, actor: Actor, opts: NewCaseOptions | undefined, activeUnits: Set<string>): Promise<{ entry: ChainEntry; doc: Record<string, unknown> }> {
    assertMayRegister(actor);
    const parsed = newCaseSchema.safeParse(input);
    if (!parsed.success) throw fromZod(parsed.error);
    const data = parsed.data;
    const now = this.clock.now();

    let snapshot: StoredSnapshot;
    let fields: Record<string, unknown>;
    if (data.kind === "inspection") {
      snapshot = initialSnapshot("inspection", { longTerm: data.longTerm });
      // The planned units are checked as 交办 would check them, so that 按清单交办 can apply them. A
      // well-formed id the directory lacks (or has stopped) is a body the ledger cannot take: 409.
      for (const [field, ids] of [["plannedLeadUnitId", data.plannedLeadUnitId ? [data.plannedLeadUnitId] : []], ["plannedCoUnitIds", data.plannedCoUnitIds]] as const) {
        const missing = ids.filter((u) => !activeUnits.has(u));
        if (missing.length) throw new AppError(409, "unit_unavailable", `所选单位不存在或已停用：${missing.join("、")}`, { fields: [{ field, message: "所选单位不存在或已停用" }] });
      }
      if (data.plannedLeadUnitId && data.plannedCoUnitIds.includes(data.plannedLeadUnitId))
        throw invalid([{ field: "plannedCoUnitIds", message: "牵头单位不能同时作为配合单位" }]);
      fields = { ...data, plannedCoUnitIds: [...new Set(data.plannedCoUnitIds)] };
    } else {
      const today = shanghaiDate(now);
      const receivedOn = data.receivedOn ?? today;
      if (receivedOn > today) throw invalid([{ field: "receivedOn", message: "收到日期不能晚于今天" }]);
      snapshot = initialSnapshot("complaint", { receivedOn });
      const year = today.slice(0, 4);
      const n = await nextSeq(`complaint-${year}`);
      fields = { ...data, receivedOn, ledgerNumber: `XF-${year}-${String(n).padStart(6, "0")}` };
    }

    const _id = new mongoose.Types.ObjectId();
    // The complainant's identity stays out of the history payload: units read the history.
    const { complainant: _omit, ...payload } = fields;
    const entry = seal(
      {
        caseId: _id.toString(),
        seq: 1,
        type: opts?.entryType ?? "CREATE",
        actor,
        at: now,
        from: null,
        to: stateKey(snapshot.value as StateValue),
        // The case's own fields win over a note of the same name.
        payload: { ...opts?.entryNote, ...payload },
        deadlineRevision: (snapshot.context as { deadlineRevision: number }).deadlineRevision,
        snapshot,
      },
      genesisHash(_id.toString()),
    );
    const doc = {
      _id,
      ...fields,
      ...project(data.kind, snapshot, await this.behindMarginOf(data.kind)),
      // The searched texts never change after registration: their bigrams are written once, here.
      grams: gramsOf(fields),
      stateSince: now,
      stateEvent: entry.type,
      version: 1,
      historyHead: entry.hash,
      createdBy: actor.id,
      // The case's own clock: the notice sweep finds changed cases by updatedAt.
      createdAt: now,
      updatedAt: now,
    };
    return { entry, doc };
  }

  /** A case this actor may see, as of its latest history entry; not_found otherwise (never revealing another unit's case). */
  async getCase(id: string, actor: Actor): Promise<CaseDoc> {
    return this.rollForward(await this.loadVisible(id, actor));
  }

  /**
   * Many cases as of their latest history entries, for the system (the notice sweep): one read of the
   * cases and one of the entries that would follow them, instead of two reads per case. Missing ids
   * are left out.
   */
  async currentCases(ids: string[]): Promise<CaseDoc[]> {
    const oids = ids.map(toObjectId).filter((x): x is mongoose.Types.ObjectId => x !== null);
    if (!oids.length) return [];
    const docs = await Case.find({ _id: mongoose.trusted({ $in: oids }) }).lean<CaseDoc[]>();
    const next = await CaseHistory.find({ _id: mongoose.trusted({ $in: docs.map((d) => `${d._id.toString()}:${d.version + 1}`) }) }, { caseId: 1 }).lean();
    const behind = new Set(next.map((e) => e.caseId));
    return Promise.all(docs.map((d) => (behind.has(d._id.toString()) ? this.rollForward(d) : d)));
  }

  /** The whole history of a case, oldest first. Call after access was checked (getCase). */
  async history(caseId: string): Promise<ChainEntry[]> {
    return historyQuery(caseId).lean<ChainEntry[]>();
  }

  /** Event types this actor may send to this case now. */
  allowedEvents(doc: CaseDoc, actor: Actor): string[] {
    return allowedEvents(restore(doc.kind, doc.stateValue as StateValue, doc.context), actor, this.clock.now().toISOString());
  }

  /** Event types this actor could send but the case's situation blocks now, with the reasons (shown beside the actions). */
  blockedEvents(doc: CaseDoc, actor: Actor): { type: string; reasons: string[] }[] {
    return blockedEvents(doc.kind, restore(doc.kind, doc.stateValue as StateValue, doc.context), actor, this.clock.now().toISOString());
  }

  async applyEvent(caseId: string, command: EventCommand, actor: Actor): Promise<Applied> {
    // The case as stored, not first rolled forward (one read fewer per event): if a crash left its next
    // entry unprojected, the append fails on that entry's key. A refusal is judged again on the
    // rolled-forward case, so a stale projection never refuses an event the case now allows.
    const stored = await this.loadVisible(caseId, actor);
    let applied: Applied;
    try {
      applied = await this.decide(stored, command, actor);
    } catch (e) {
      if (!(e instanceof AppError) || e.status >= 500 || e.code === "version_conflict") throw e;
      const current = await this.rollForward(stored);
      if (current.version === stored.version) throw e;
      applied = await this.decide(current, command, actor);
    }
    await this.tellUnit(applied);
    return applied;
  }

  /**
   * After the commit, the unit is told of an office decision that sends the case back to it (退回), with the
   * reason. A replayed command tells it again, which the notice's key makes a no-op; a failure here is
   * logged, not thrown: the event stands, and a retry of the command issues the notice.
   */
  private async tellUnit({ case: doc, entry }: Applied): Promise<void> {
    if (!toldToUnit(doc.kind as CaseKind, entry.type)) return;
    try {
      await issueForEvent(doc, { ...entry, actor: entry.actor as Actor }, this.clock.now());
    } catch (err) {
      log.error({ err, caseId: entry.caseId, seq: entry.seq }, "the unit could not be told of the event");
    }
  }

  /** The event judged on this case document and, if the machine takes it, appended and projected. */
  private async decide(doc: CaseDoc, command: EventCommand, actor: Actor): Promise<Applied> {
    const id = doc._id.toString();
    const key = command.idempotencyKey;
    const requestHash = sha256(canonicalJson({ type: command.type, payload: command.payload ?? {} }));
    if (key) {
      const prior = await findByKey(id, key, actor);
      if (prior) return replay(await this.rollForward(doc), prior, requestHash);
    }
    if (command.expectedVersion !== undefined && command.expectedVersion !== doc.version) {
      doc = await this.rollForward(doc);
      if (command.expectedVersion !== doc.version) throw versionConflict(doc.version);
    }

    const kind = doc.kind as CaseKind;
    const schema = payloadSchemaOf(kind, command.type);
    if (!schema)
      throw invalid([{ field: "type", message: `不支持的操作类型“${command.type}”，可选：${eventTypesOf(kind).join("、")}` }]);
    // Whether this event may happen now at all (state, then role and unit) comes before what its payload
    // says: an action the case does not allow is a 409 or 403, whatever was filled in. The machine is
    // asked the role question (a transition of its own) only when something is refused.
    const at = this.clock.now();
    const snapshot = restore(kind, doc.stateValue as StateValue, doc.context);
    const from = stateKey(snapshot.value as StateValue);
    const refused = () => {
      if (!handledEvents(snapshot).includes(command.type))
        return notAllowedInState(from, stateLabel(kind, from), allowedEvents(snapshot, actor, at.toISOString()));
      const probe = { type: command.type, actor, at: at.toISOString() };
      if (!snapshot.can({ ...probe, probe: "role" }))
        return forbidden("您的角色或单位不能执行此操作", { allowedEvents: allowedEvents(snapshot, actor, probe.at) });
      if (!snapshot.can({ ...probe, probe: true })) {
        const reasons = situationViolations(kind, snapshot, { ...probe, probe: true }).map((v) => v.message);
        if (reasons.length) return notNow(from, reasons, allowedEvents(snapshot, actor, probe.at));
      }
      return null;
    };
    if (!handledEvents(snapshot).includes(command.type)) throw refused()!;
    const parsed = schema.safeParse(command.payload ?? {});
    if (!parsed.success) throw refused() ?? fromZod(parsed.error, "payload");
    const event = { ...(parsed.data as object), type: command.type, actor, at: at.toISOString() } as CaseEvent;
    const next = step(kind, snapshot, event);
    if (!next) {
      const refusal = refused();
      if (refusal) throw refusal;
      const violations = ruleViolations(kind, snapshot, event);
      if (violations.length) throw invalid(violations.map((v) => ({ ...v, field: `payload.${v.field}` })));
      throw notAllowedInState(from, stateLabel(kind, from), allowedEvents(snapshot, actor, event.at));
    }
    await checkReferences(event, id);

    const nextSnapshot = snapshotOf(next);
    const entry = seal(
      {
        caseId: id,
        seq: doc.version + 1,
        type: command.type,
        actor,
        at,
        from,
        to: stateKey(next.value as StateValue),
        payload: parsed.data,
        deadlineRevision: (next.context as { deadlineRevision: number }).deadlineRevision,
        ...(key ? { idempotencyKey: key, requestHash } : {}),
        snapshot: nextSnapshot,
      },
      doc.historyHead,
    );
    try {
      await insertEntry(entry);
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      // Another writer took this version. If it was this very command (a concurrent retry), it succeeded.
      const prior = key ? await findByKey(id, key, actor) : null;
      const current = await this.rollForward(doc);
      if (prior) return replay(current, prior, requestHash);
      throw versionConflict(current.version);
    }
    return { case: await this.projectEntry(doc, entry), entry, replayed: false };
  }

  /** Writes an entry's snapshot onto the case document, unless a later one is already there. */
  private async projectEntry(doc: CaseDoc, entry: ChainEntry): Promise<CaseDoc> {
    // updatedAt moves: the notice sweep recomputes this case's schedule on its next pass.
    const kind = doc.kind as CaseKind;
    const fields = {
      ...project(kind, entry.snapshot, await this.behindMarginOf(kind)),
      // An event that leaves the state as it was (a progress report) does not restart the wait.
      ...(entry.from === entry.to ? {} : { stateSince: entry.at, stateEvent: entry.type }),
      version: entry.seq,
      historyHead: entry.hash,
      updatedAt: entry.at,
    };
    // The driver's own update: the fields are the projection's, typed already (mongoose would only cast them again).
    const written = await Case.collection.updateOne({ _id: doc._id, version: { $lt: entry.seq } }, { $set: fields });
    const after = { ...doc, ...fields } as CaseDoc;
    // Only the writer that moved the case from `doc` moves its counts (the filter admits one per version).
    if (written.matchedCount) await moveCounts([[facetsOf(doc), facetsOf(after)]]);
    return after;
  }

  /** The stored case document, if this actor may see it; not_found otherwise (never revealing another unit's case). */
  private async loadVisible(id: string, actor: Actor): Promise<CaseDoc> {
    const _id = toObjectId(id);
    const doc = _id ? ((await Case.collection.findOne({ _id })) as CaseDoc | null) : null;
    if (!doc) throw notFound();
    if (canSee(actor, doc)) return doc;
    // A projection a crash left behind may not show yet the unit an unprojected entry assigned.
    const current = await this.rollForward(doc);
    if (current.version !== doc.version && canSee(actor, current)) return current;
    throw notFound();
  }

  /** Brings a case document up to its latest history entry (after a crash or a lost race between append and projection). */
  private async rollForward(doc: CaseDoc): Promise<CaseDoc> {
    let current = doc;
    // Point lookups by primary key: usually one miss, and cheap on every MongoDB-compatible server.
    for (;;) {
      const entry = await CaseHistory.findById(`${doc._id.toString()}:${current.version + 1}`).lean<ChainEntry>();
      if (!entry) return current;
      if (!follows(entry, current.version, current.historyHead))
        throw new AppError(500, "history_broken", `案件 ${doc.ledgerNumber} 的办理记录校验失败，请联系管理员`, { seq: entry.seq });
      current = await this.projectEntry(current, entry);
    }
  }
}

/**
 * References the machine cannot check: named units must exist and be active, evidence must be this case's
 * files, a 批示's notice must be one of this case's.
 */
async function checkReferences(event: CaseEvent, caseId: string): Promise<void> {
  if (typeof event.noticeId === "string" && !(await Notice.exists({ _id: event.noticeId, caseId })))
    throw invalid([{ field: "payload.noticeId", message: "本案没有这份通知，不能对它批示" }]);
  if (typeof event.leadUnitId === "string") await assertUnitsExist([event.leadUnitId], "payload.leadUnitId");
  if (Array.isArray(event.coUnitIds)) await assertUnitsExist(event.coUnitIds as string[], "payload.coUnitIds");
  if (Array.isArray(event.attachmentIds)) await assertAttachments(caseId, event.attachmentIds as string[], "payload.attachmentIds");
}
