/**
 * Units named in a list: by full name, short name or alias, after folding full-width to
 * half-width and dropping spaces, so "市环保局", " 市环保局 " and "市环保局" (full-width
 * brackets alike) name the same unit. Co-units are one cell separated by 、，, ; or /.
 * An unknown or ambiguous name is the caller's row error; nothing here creates a unit.
 * Stopped units (停用) are known, so a re-imported export still names them, but flagged: a new
 * item cannot go to one.
 */
import { Unit } from "../db/models.ts";

export interface KnownUnit {
  id: string;
  name: string;
  active: boolean;
}

export type UnitMatch = { ok: true; unit: KnownUnit } | { ok: false; message: string };

/** The key a unit name is looked up by: NFKC (full-width → half-width), no whitespace. */
export const unitKey = (s: string) => s.normalize("NFKC").replace(/\s+/g, "");

/** Splits a co-units cell: 、，, ; / (full-width or half-width), newlines. */
export function splitUnits(cell: string): string[] {
  return cell
    .normalize("NFKC")
    .split(/[、,;/\n]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export class UnitMatcher {
  /** Full names first, then short names and aliases: a full name wins over another unit's alias. */
  private readonly byName = new Map<string, KnownUnit[]>();
  private readonly byOther = new Map<string, KnownUnit[]>();
  private readonly names = new Map<string, string>();

  constructor(units: { id: string; name: string; shortName?: string | null; aliases?: string[] | null; active?: boolean }[]) {
    // Active units first: a name an active and a stopped unit share means the active one.
    for (const u of [...units].sort((a, b) => Number(b.active ?? true) - Number(a.active ?? true))) {
      const unit = { id: u.id, name: u.name, active: u.active ?? true };
      this.names.set(u.id, u.name);
      add(this.byName, u.name, unit);
      for (const n of [u.shortName, ...(u.aliases ?? [])]) if (n) add(this.byOther, n, unit);
    }
  }

  /** Every unit of the directory. */
  static async load(): Promise<UnitMatcher> {
    const rows = await Unit.find({}, { name: 1, shortName: 1, aliases: 1, active: 1 }).lean();
    return new UnitMatcher(rows.map((u) => ({ id: u._id.toString(), name: u.name, shortName: u.shortName, aliases: u.aliases, active: u.active })));
  }

  match(name: string): UnitMatch {
    const k = unitKey(name);
    const found = this.byName.get(k) ?? this.byOther.get(k) ?? [];
    if (found.length === 1) return { ok: true, unit: found[0]! };
    if (found.length > 1) return { ok: false, message: `“${name.trim()}”同时对应多个单位（${found.map((u) => u.name).join("、")}），请填写单位全称` };
    return { ok: false, message: `“${name.trim()}”不是已登记的单位` };
  }

  nameOf(id: string | null | undefined): string {
    return id ? (this.names.get(id) ?? id) : "";
  }
}

function add(map: Map<string, KnownUnit[]>, name: string, unit: KnownUnit) {
  const k = unitKey(name);
  if (!k) return;
  const list = map.get(k) ?? [];
  if (list.some((x) => x.id === unit.id || (x.active && !unit.active))) return;
  map.set(k, [...list, unit]);
}
