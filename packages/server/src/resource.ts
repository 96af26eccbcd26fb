/**
 * Resource declarations: how entries of an LDAP source become a REST collection
 * (docs/stream-contract.md §R).
 *
 * A resource says which entries of its source it holds (`match`), their `id`, the route params
 * that select a parent (`params`, e.g. the realm of a subscriber), the JSON `body`, and the
 * accepted `filter_*` query parameters. From that, the middleware mounts
 *   GET {path}                 the listing (JSON array of bodies)
 *   GET {path}/{id}            one item (404 when absent)
 *   GET {path}?subscribe=1     the SSE stream (docs/stream-contract.md §R3)
 * and every body gets `_url`, the path of its item endpoint.
 */
import type { Entry } from '@syncrepl-rx/core';

/** A JSON object body, as GET returns it. `_url` is added by the middleware. */
export type Body = Record<string, unknown>;

export interface ResourceDefinition<B extends Body = Body> {
  /** Unique name, used in metrics and logs. */
  name: string;
  /** The name of the source (in `sources`) whose entries this resource shows. */
  source: string;
  /**
   * Express-style path of the collection, with a `:param` for each parent, e.g.
   * `/realm/:realmId/subscriber`. The item path is this plus `/:id`.
   */
  path: string;
  /** Whether an entry of the source belongs to this resource (e.g. by objectClass). */
  match(entry: Entry): boolean;
  /** The entry's id in URLs. Undefined: the entry is not shown. */
  id(entry: Entry): string | undefined;
  /** The values of the path's parent params for this entry (e.g. `{ realmId }`); `{}` if none. */
  params?(entry: Entry): Record<string, string> | undefined;
  /**
   * The `_url` of an entry. Default: the collection path with the entry's params, then `/{id}`.
   * A resource that spans parents (e.g. all subscribers of all realms) can point at the item
   * endpoint of the resource that owns the entry. A path under the router: the `basePath`
   * option is put before it.
   */
  url?(entry: Entry, id: string, params: Record<string, string>): string;
  /** The JSON body (without `_url`). */
  body(entry: Entry): B;
  /**
   * Accepted `filter_<name>=<value>` query parameters: a predicate per name. Requests with an
   * unknown filter_* parameter get 400.
   */
  filters?: Record<string, (entry: Entry, value: string) => boolean>;
}

/** What a resource makes of one entry, computed once per entry object and shared by all views. */
export interface Mapped {
  id: string;
  params: Record<string, string>;
  url: string;
  /** JSON of the body including `_url`. */
  json: string;
  /** JSON of the delete tombstone body `{ id, _url }` (docs/stream-contract.md §E4). */
  readonly tombstone: string;
}

/**
 * A Mapped whose tombstone is written when a delete asks for it: the server maps every entry of
 * its replica at load, and only deletes need a tombstone.
 */
class MappedEntry implements Mapped {
  constructor(
    readonly id: string,
    readonly params: Record<string, string>,
    readonly url: string,
    readonly json: string,
  ) {}

  get tombstone(): string {
    return JSON.stringify({ id: this.id, _url: this.url });
  }
}

/** The params of an entry whose resource has none: one object for all of them, never written. */
const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

export class CompiledResource {
  readonly itemPath: string;
  readonly paramNames: string[];
  private readonly segments: (string | { param: string })[];
  // Entries are immutable objects: what an entry maps to is computed once, whoever asks.
  private readonly cache = new WeakMap<Entry, Mapped | null>();

  constructor(
    readonly def: ResourceDefinition,
    /** Told when a callback of the definition throws; the entry is then not part of the resource. */
    private readonly onError: (entry: Entry, error: unknown) => void = () => {},
    /** Where the router is mounted: the prefix of every `_url`. */
    private readonly basePath = '',
  ) {
    if (!def.path.startsWith('/')) throw new TypeError(`resource ${def.name}: path must start with /`);
    this.itemPath = `${def.path.replace(/\/$/, '')}/:id`;
    this.segments = def.path
      .split('/')
      .filter(Boolean)
      .map((s) => (s.startsWith(':') ? { param: s.slice(1) } : s));
    this.paramNames = this.segments.flatMap((s) => (typeof s === 'string' ? [] : [s.param]));
    if (this.paramNames.includes('id'))
      throw new TypeError(`resource ${def.name}: ':id' is reserved for items`);
  }

  get name(): string {
    return this.def.name;
  }

  /**
   * What an entry maps to, not remembered: for an entry object nobody else holds (the store
   * decodes a fresh one per read, as the index's single pass at load does), a WeakMap slot would
   * only be garbage, and 100,000 ephemerons for the collector to trace.
   */
  mapOnce(entry: Entry): Mapped | undefined {
    return this.compute(entry);
  }

  /** The entry as this resource shows it, or undefined when it is not one of its entries. */
  map(entry: Entry): Mapped | undefined {
    const hit = this.cache.get(entry);
    if (hit !== undefined) return hit ?? undefined;
    const mapped = this.compute(entry);
    this.cache.set(entry, mapped ?? null);
    return mapped;
  }

  /** The collection URL for the given params. */
  collectionUrl(params: Record<string, string>): string {
    return (
      '/' +
      this.segments
        .map((s) => (typeof s === 'string' ? s : encodeURIComponent(params[s.param] ?? '')))
        .join('/')
    );
  }

  private compute(entry: Entry): Mapped | undefined {
    // A declaration's callbacks run on every change of the source: one that throws must cost
    // that entry, never the process or the other resources (docs/design.md invariant 7).
    try {
      return this.mapEntry(entry);
    } catch (err) {
      this.onError(entry, err);
      return undefined;
    }
  }

  private mapEntry(entry: Entry): Mapped | undefined {
    if (!this.def.match(entry)) return undefined;
    const id = this.def.id(entry);
    if (id === undefined || id === '') return undefined;
    const params = this.def.params?.(entry) ?? NO_PARAMS;
    for (const p of this.paramNames) if (params[p] === undefined) return undefined;
    const url =
      this.basePath +
      (this.def.url?.(entry, id, params) ?? `${this.collectionUrl(params)}/${encodeURIComponent(id)}`);
    const body = { ...this.def.body(entry), _url: url };
    return new MappedEntry(id, params, url, JSON.stringify(body));
  }
}
