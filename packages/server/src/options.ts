/**
 * The middleware's options, parsed once (in the style of expressjs/compression): defaults
 * applied, the caller's object never mutated.
 */
import type { Request } from 'express';
import type { Entry, Logger } from '@syncrepl-rx/core';
import type { Registry } from 'prom-client';
import type { ResourceDefinition } from './resource.js';
import type { SourceDefinition } from './source.js';

/**
 * What the authorization hook decides for one request. `allow: true` may narrow what the
 * request sees: `filter` is applied to listings, items, replays, live events and resumes alike,
 * and `scope` names that narrowing (it is part of the view a resume cookie is bound to, so a
 * cookie from one scope never opens another).
 */
export type Authorization =
  | { allow: true; scope?: string; filter?: (entry: Entry) => boolean }
  | { allow: false; status: 401 | 403; message?: string; headers?: Record<string, string> };

export interface AuthorizationContext {
  resource: string;
  params: Record<string, string>;
  kind: 'list' | 'item' | 'subscribe';
}

export type Authorize = (
  req: Request,
  context: AuthorizationContext,
) => Authorization | Promise<Authorization>;

export interface SyncreplResourcesOptions {
  /** Named LDAP sources; each gets one upstream syncrepl search, shared by all its resources. */
  sources: Record<string, SourceDefinition>;
  resources: ResourceDefinition[];
  /**
   * Key for the resume cookies' HMAC. Give every instance of a deployment the same secret, so
   * that cookies stay valid across instances and restarts. Never logged.
   */
  secret: string | Uint8Array;
  authorize?: Authorize;
  /** Interval of `: heartbeat` comments on idle streams. Default 20,000 ms. */
  heartbeatMs?: number;
  /** The `retry:` hint for EventSource reconnects. Default 2,000 ms. */
  retryMs?: number;
  /** A stream that cannot take more data for this long is cut off (it resumes later). Default 30,000 ms. */
  slowClientTimeoutMs?: number;
  /**
   * `Retry-After` (seconds) of the 503 that listings and items get before a source's first
   * `ready`. (Streams are never refused for that: they are answered and held until data flows.)
   * Default 5.
   */
  retryAfterSeconds?: number;
  /**
   * How long a resumed stream may wait for this instance's source to catch up with the
   * client's position (the client came from an instance whose provider was ahead) before it
   * gets a reset instead. Default 10,000 ms.
   */
  resumeWaitMs?: number;
  /** Where to register metrics (prom-client). Default: a registry of this middleware's own. */
  registry?: Registry;
  logger?: Logger;
  /**
   * The path the router is mounted at (`app.use('/api', api)` → `'/api'`): every `_url` starts
   * with it, so links resolve from the application's root. Default `''` (mounted at the root).
   * A request arriving under another mount path is logged once as a warning.
   */
  basePath?: string;
}

export interface ParsedOptions {
  sources: Readonly<Record<string, SourceDefinition>>;
  resources: readonly ResourceDefinition[];
  secret: string | Uint8Array;
  authorize: Authorize | undefined;
  heartbeatMs: number;
  retryMs: number;
  slowClientTimeoutMs: number;
  retryAfterSeconds: number;
  resumeWaitMs: number;
  registry: Registry | undefined;
  logger: Logger;
  basePath: string;
}

const QUIET: Logger = {
  warn: (m, f) => console.warn(m, f ?? ''),
  error: (m, f) => console.error(m, f ?? ''),
};

export function parseOptions(options: SyncreplResourcesOptions): ParsedOptions {
  if (!options || typeof options !== 'object')
    throw new TypeError('syncreplResources(options): options are required');
  const { secret } = options;
  if (
    !(typeof secret === 'string' ? secret.length >= 16 : secret instanceof Uint8Array && secret.length >= 16)
  ) {
    throw new TypeError(
      'syncreplResources: `secret` must be at least 16 characters (it signs resume cookies)',
    );
  }
  const names = new Set<string>();
  for (const r of options.resources) {
    if (names.has(r.name)) throw new TypeError(`syncreplResources: two resources are named ${r.name}`);
    names.add(r.name);
    if (!options.sources[r.source]) {
      throw new TypeError(`syncreplResources: resource ${r.name} names an unknown source ${r.source}`);
    }
  }
  const positive = (v: number | undefined, d: number, what: string) => {
    if (v === undefined) return d;
    if (!(Number.isFinite(v) && v > 0))
      throw new TypeError(`syncreplResources: ${what} must be a positive number`);
    return v;
  };
  return {
    sources: { ...options.sources },
    resources: [...options.resources],
    secret,
    authorize: options.authorize,
    heartbeatMs: positive(options.heartbeatMs, 20_000, 'heartbeatMs'),
    retryMs: positive(options.retryMs, 2_000, 'retryMs'),
    slowClientTimeoutMs: positive(options.slowClientTimeoutMs, 30_000, 'slowClientTimeoutMs'),
    retryAfterSeconds: positive(options.retryAfterSeconds, 5, 'retryAfterSeconds'),
    resumeWaitMs: positive(options.resumeWaitMs, 10_000, 'resumeWaitMs'),
    registry: options.registry,
    logger: options.logger ?? QUIET,
    basePath: basePath(options.basePath),
  };
}

function basePath(value: unknown): string {
  if (value === undefined || value === '' || value === '/') return '';
  if (typeof value !== 'string' || !/^\/[^?#\s]*$/.test(value))
    throw new TypeError("syncreplResources: basePath must be a path such as '/api' (no query, no spaces)");
  return value.replace(/\/+$/, '');
}
