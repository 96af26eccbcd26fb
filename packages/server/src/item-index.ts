/**
 * Item lookups without a scan: for one resource, the entryUUIDs behind each (params, id), built
 * from the replica on first use and kept current from the change log. An id need not be unique
 * across parents (a resource over all realms), hence a set per key; the caller checks the view.
 */
import type { LogRecord } from './change-log.js';
import type { CompiledResource } from './resource.js';
import type { Upstream } from './source.js';

export class ItemIndex {
  private byKey: Map<string, Set<string>> | undefined;

  constructor(
    private readonly resource: CompiledResource,
    private readonly upstream: Upstream,
  ) {
    upstream.on('change', (record) => this.apply(record));
  }

  static key(params: Record<string, string>, paramNames: readonly string[], id: string): string {
    return JSON.stringify([...paramNames.map((p) => params[p] ?? ''), id]);
  }

  /** entryUUIDs of entries with this id under these params. */
  lookup(params: Record<string, string>, id: string): Iterable<string> {
    this.byKey ??= this.build();
    return this.byKey.get(ItemIndex.key(params, this.resource.paramNames, id)) ?? [];
  }

  private build(): Map<string, Set<string>> {
    const map = new Map<string, Set<string>>();
    for (const [entryUUID, entry] of this.upstream.store.entries()) {
      const m = this.resource.map(entry);
      if (m) add(map, ItemIndex.key(m.params, this.resource.paramNames, m.id), entryUUID);
    }
    return map;
  }

  private apply(record: LogRecord): void {
    const map = this.byKey;
    if (!map) return;
    const before = record.old && this.resource.map(record.old);
    const after = record.new && this.resource.map(record.new);
    if (before) {
      const key = ItemIndex.key(before.params, this.resource.paramNames, before.id);
      const set = map.get(key);
      set?.delete(record.entryUUID);
      if (set?.size === 0) map.delete(key);
    }
    if (after) add(map, ItemIndex.key(after.params, this.resource.paramNames, after.id), record.entryUUID);
  }
}

function add(map: Map<string, Set<string>>, key: string, entryUUID: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(entryUUID);
}
