/**
 * What one resource holds, mapped once (id, params, `_url`, body JSON): entryUUID → Mapped,
 * grouped by the route params that select a parent. Built from the replica on first use (one
 * pass over the store), then kept current from the change log, so replays, listings and item
 * lookups never decode the whole store again, and a realm's stream only looks at its realm.
 */
import type { LogRecord } from './change-log.js';
import type { CompiledResource, Mapped } from './resource.js';
import type { Upstream } from './source.js';

const EMPTY: ReadonlyMap<string, Mapped> = new Map();

export class ResourceIndex {
  private groups: Map<string, Map<string, Mapped>> | undefined;

  constructor(
    private readonly resource: CompiledResource,
    private readonly upstream: Upstream,
  ) {
    upstream.on('change', (record) => this.apply(record));
  }

  /**
   * Builds several indexes of one source in a single pass over its store (one decode per entry
   * for all of them). The middleware does this when the source is first ready, so no request
   * pays for it.
   */
  static buildAll(indexes: readonly ResourceIndex[], store: Upstream['store']): void {
    const todo = indexes.filter((i) => !i.groups);
    if (todo.length === 0) return;
    const built = todo.map(() => new Map<string, Map<string, Mapped>>());
    for (const [entryUUID, entry] of store.entries()) {
      todo.forEach((index, i) => {
        const mapped = index.resource.mapOnce(entry);
        if (mapped) index.put(built[i]!, entryUUID, mapped);
      });
    }
    todo.forEach((index, i) => (index.groups = built[i]));
  }

  /** The entries under these parent params: entryUUID → Mapped. */
  group(params: Readonly<Record<string, string>>): ReadonlyMap<string, Mapped> {
    this.groups ??= this.build();
    return this.groups.get(this.key(params)) ?? EMPTY;
  }

  private key(params: Readonly<Record<string, string>>): string {
    // A resource without parent params has one group: no key to build per entry.
    if (this.resource.paramNames.length === 0) return '';
    return JSON.stringify(this.resource.paramNames.map((p) => params[p] ?? ''));
  }

  private build(): Map<string, Map<string, Mapped>> {
    const groups = new Map<string, Map<string, Mapped>>();
    for (const [entryUUID, entry] of this.upstream.store.entries()) {
      const mapped = this.resource.mapOnce(entry);
      if (mapped) this.put(groups, entryUUID, mapped);
    }
    return groups;
  }

  private put(groups: Map<string, Map<string, Mapped>>, entryUUID: string, mapped: Mapped): void {
    const key = this.key(mapped.params);
    let group = groups.get(key);
    if (!group) groups.set(key, (group = new Map()));
    group.set(entryUUID, mapped);
  }

  private apply(record: LogRecord): void {
    const groups = this.groups;
    if (!groups) return;
    const before = record.old && this.resource.map(record.old);
    if (before) {
      const key = this.key(before.params);
      const group = groups.get(key);
      group?.delete(record.entryUUID);
      if (group?.size === 0) groups.delete(key);
    }
    const after = record.new && this.resource.map(record.new);
    if (after) this.put(groups, record.entryUUID, after);
  }
}
