/**
 * A view: what one request sees of a resource. Route params select a parent, `filter_*` values
 * narrow, and the authorization hook may narrow further. Views are applied in-process to the
 * one shared upstream (docs/design.md "Scale"): for each logged change, the old and the new entry
 * decide what this view gets (docs/stream-contract.md §V2, §E5):
 *
 *   old in view | new in view | same _url | events
 *   ------------+-------------+-----------+-------------------------------------------
 *        no     |     yes     |     -     | add
 *        yes    |     no      |     -     | delete (id + _url of the old one)
 *        yes    |     yes     |    yes    | modify (only when the body changed)
 *        yes    |     yes     |    no     | delete of the old id/_url, then add: a rename or move
 */
import type { Entry } from '@syncrepl-rx/core';
import type { LogRecord } from './change-log.js';
import type { CompiledResource, Mapped } from './resource.js';
import { fingerprint } from './resume-cookie.js';

import type { SyncOp } from './wire.js';
export type { SyncOp } from './wire.js';

export interface ViewEvent {
  syncOp: SyncOp;
  entryUUID: string;
  /** JSON of the body (the tombstone for a delete). */
  json: string;
}

export interface ViewOptions {
  params: Record<string, string>;
  filters: [name: string, value: string][];
  /** From the authorization hook: an extra predicate and a label naming it in the fingerprint. */
  authorization?: { scope: string; allows?: (entry: Entry) => boolean };
}

export class View {
  readonly fingerprint: string;
  /** The route params that select the parent. */
  readonly params: Readonly<Record<string, string>>;
  /** Whether admitting an entry needs more than its mapping (filter_* values, authorization). */
  private readonly needsEntry: boolean;

  constructor(
    readonly resource: CompiledResource,
    private readonly options: ViewOptions,
  ) {
    this.params = options.params;
    this.needsEntry = options.filters.length > 0 || options.authorization?.allows !== undefined;
    const filters = [...options.filters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.fingerprint = fingerprint([
      resource.name,
      options.params,
      filters,
      options.authorization?.scope ?? '',
    ]);
  }

  /** The entry as this view shows it, or undefined when it is not in the view. */
  admit(entry: Entry | undefined): Mapped | undefined {
    if (!entry) return undefined;
    const mapped = this.resource.map(entry);
    if (!mapped) return undefined;
    for (const name of this.resource.paramNames) {
      if (mapped.params[name] !== this.options.params[name]) return undefined;
    }
    const filters = this.resource.def.filters;
    for (const [name, value] of this.options.filters) {
      // Own names only: `constructor`, `__proto__`… are no filters of the resource.
      const filter = filters && Object.hasOwn(filters, name) ? filters[name] : undefined;
      if (!filter?.(entry, value)) return undefined;
    }
    const auth = this.options.authorization?.allows;
    if (auth && !auth(entry)) return undefined;
    return mapped;
  }

  /**
   * Admits an entry of the resource index's group for this view's params: only filters and
   * authorization are left to check, and only they need the entry itself.
   */
  admitIndexed(
    entryUUID: string,
    mapped: Mapped,
    store: { get(entryUUID: string): Entry | undefined },
  ): Mapped | undefined {
    return this.needsEntry ? this.admit(store.get(entryUUID)) : mapped;
  }

  /** The events a logged change produces for this view, in order. */
  eventsFor(record: LogRecord): ViewEvent[] {
    const before = this.admit(record.old);
    const after = this.admit(record.new);
    const entryUUID = record.entryUUID;
    if (before && after) {
      if (before.url !== after.url) {
        return [
          { syncOp: 'delete', entryUUID, json: before.tombstone },
          { syncOp: 'add', entryUUID, json: after.json },
        ];
      }
      return before.json === after.json ? [] : [{ syncOp: 'modify', entryUUID, json: after.json }];
    }
    if (before) return [{ syncOp: 'delete', entryUUID, json: before.tombstone }];
    if (after) return [{ syncOp: 'add', entryUUID, json: after.json }];
    return [];
  }
}

/** The `data:` of an `entry` event: `{ entryUUID, syncOp, body }` (docs/stream-contract.md §E1). */
/** The `data` of an `entry` event (wire.ts `EntryData`, §E1), written as text: the body is JSON already. */
export function entryData(event: ViewEvent): string {
  return `{"entryUUID":${JSON.stringify(event.entryUUID)},"syncOp":"${event.syncOp}","body":${event.json}}`;
}
