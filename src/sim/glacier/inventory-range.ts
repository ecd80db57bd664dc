import { SimError } from '../http.js';
import type { CatalogSnapshot } from './catalog.js';

/**
 * A range inventory retrieval (InitiateJob `InventoryRetrievalParameters`, Glacier API reference
 * InventoryRetrievalJobInput): archives created on or after StartDate and before EndDate, from Marker on, at
 * most Limit of them. All absent: the whole vault.
 */
export interface InventoryRange {
  StartDate: string | null;
  EndDate: string | null;
  Limit: string | null;
  /** The marker the job was started from */
  Marker: string | null;
}

const invalid = (message: string) => new SimError(400, 'InvalidParameterValueException', message);

/** Validates the request's InventoryRetrievalParameters as Glacier does. */
export function parseInventoryRange(value: unknown): InventoryRange {
  const input = (value ?? {}) as Record<string, unknown>;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('Invalid InventoryRetrievalParameters');
  const text = (name: string): string | null => {
    const v = input[name];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') throw invalid(`Invalid ${name}: ${JSON.stringify(v)}`);
    return v;
  };
  const range: InventoryRange = { StartDate: text('StartDate'), EndDate: text('EndDate'), Limit: text('Limit'), Marker: text('Marker') };
  for (const name of ['StartDate', 'EndDate'] as const) {
    const date = range[name];
    if (date !== null && !(ISO_8601.test(date) && Number.isFinite(Date.parse(date)))) throw invalid(`Invalid ${name}: ${date} (ISO 8601 expected)`);
  }
  if (range.StartDate !== null && range.EndDate !== null && Date.parse(range.StartDate) >= Date.parse(range.EndDate)) {
    throw invalid(`The StartDate ${range.StartDate} must be before the EndDate ${range.EndDate}`);
  }
  if (range.Limit !== null && !(/^\d+$/.test(range.Limit) && Number(range.Limit) >= 1)) throw invalid(`Invalid Limit: ${range.Limit} (an integer of at least 1)`);
  if (range.Marker !== null) slotOfMarker(range.Marker);
  return range;
}

/** The whole vault: no date range, no limit, no marker. */
export function isWholeVault(range: InventoryRange): boolean {
  return range.StartDate === null && range.EndDate === null && range.Limit === null && range.Marker === null;
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

/** Markers are opaque to clients; here they name the vault slot where the next page starts. */
function markerOfSlot(slot: number): string {
  return Buffer.from(`inventory-slot:${slot}`).toString('base64url');
}

function slotOfMarker(marker: string): number {
  const m = /^inventory-slot:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
  if (!m) throw invalid(`Invalid Marker: ${marker}`);
  return Number(m[1]);
}

/**
 * The part of a vault snapshot a range inventory lists, and the marker where the next one would continue
 * (null when nothing is left). A limit is found by walking its entries once, so a job of Limit N costs N
 * entries (plus those outside its dates), however large the vault.
 */
export function selectInventory(snapshot: CatalogSnapshot, range: InventoryRange): { snapshot: CatalogSnapshot; marker: string | null } {
  if (isWholeVault(range)) return { snapshot, marker: null };
  const start = range.StartDate === null ? -Infinity : Date.parse(range.StartDate);
  const end = range.EndDate === null ? Infinity : Date.parse(range.EndDate);
  const first = range.Marker === null ? 0 : slotOfMarker(range.Marker);
  const inDates = (creationDate: string) => {
    const t = Date.parse(creationDate);
    return t >= start && t < end;
  };
  let stop = Infinity;
  let marker: string | null = null;
  if (range.Limit !== null) {
    let listed = 0;
    for (const [slot, archive] of snapshot.entries(first)) {
      if (!inDates(archive.creationDate)) continue;
      if (listed === Number(range.Limit)) {
        stop = slot;
        marker = markerOfSlot(slot);
        break;
      }
      listed++;
    }
  }
  return {
    snapshot: {
      *entries(from = 0) {
        for (const entry of snapshot.entries(Math.max(from, first))) {
          if (entry[0] >= stop) return;
          if (inDates(entry[1].creationDate)) yield entry;
        }
      },
    },
    marker,
  };
}
