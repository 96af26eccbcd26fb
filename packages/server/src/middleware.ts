/**
 * `syncreplResources(options)`: an Express 5 Router serving declared resources as REST listings,
 * items, and SSE streams (docs/stream-contract.md), all from one upstream syncrepl search per
 * source.
 *
 * @example
 * const api = syncreplResources({ sources: { dir: { url, bindDN, password, base } }, resources, secret });
 * app.use(api);
 * app.get('/metrics', api.metricsHandler);
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { HttpError } from './errors.js';
import { Metrics, type ResumeOutcome } from './metrics.js';
import {
  parseOptions,
  type Authorization,
  type ParsedOptions,
  type SyncreplResourcesOptions,
} from './options.js';
import { CompiledResource, type Mapped } from './resource.js';
import { ResumeCookieCodec, fingerprint } from './resume-cookie.js';
import { SSE_HEADERS, SseConnection } from './sse.js';
import { Upstream } from './source.js';
import { StreamSession } from './stream.js';
import { Resumer, type StreamStart } from './resume.js';
import { View } from './view.js';
import { ResourceIndex } from './resource-index.js';
import { Frames } from './frames.js';
import { LAST_EVENT_ID_HEADER, RESUME_QUERY_PARAMETER } from './wire.js';

export interface SyncreplResources extends Router {
  /** Resolves once every source completed its first refresh. */
  ready(): Promise<void>;
  /** Ends all streams and upstream searches, and closes the stores. */
  close(): Promise<void>;
  /** Prometheus text exposition of this middleware's metrics. */
  readonly metricsHandler: RequestHandler;
  readonly upstreams: ReadonlyMap<string, Upstream>;
}

export function syncreplResources(options: SyncreplResourcesOptions): SyncreplResources {
  const opts: ParsedOptions = parseOptions(options);
  const codec = new ResumeCookieCodec(opts.secret);
  const upstreams = new Map<string, Upstream>();
  const sourcePrints = new Map<string, string>();
  for (const [name, def] of Object.entries(opts.sources)) {
    upstreams.set(name, new Upstream(name, def, opts.logger));
    // Which directory view a cookie is about: not which server (any provider or replica of the
    // directory, however its URL is spelled, serves the same view); never the password.
    sourcePrints.set(
      name,
      fingerprint([def.bindDN ?? '', def.base, def.scope ?? 'sub', def.filter ?? '', def.attributes ?? []]),
    );
  }
  const streams = new Set<StreamSession>();
  /** Streams answered 200 and waiting for their source (or for it to catch up with them). */
  const held = new Set<SseConnection>();
  const metrics = new Metrics(
    opts.registry,
    () => upstreams.values(),
    () => streams,
  );
  const started = Promise.all([...upstreams.values()].map((u) => u.start()));
  started.catch((err: unknown) =>
    opts.logger.error?.(`syncreplResources: a source failed to start: ${String(err)}`),
  );

  const heartbeat = setInterval(() => {
    for (const s of streams) s.heartbeat();
    for (const c of held) if (!c.congested) c.comment('heartbeat');
  }, opts.heartbeatMs);
  heartbeat.unref();

  const router = Router() as SyncreplResources;
  // `_url`s start with basePath: say once if the router is mounted elsewhere.
  let mountChecked = false;
  router.use((req, _res, next) => {
    if (!mountChecked) {
      mountChecked = true;
      if (req.baseUrl !== opts.basePath)
        opts.logger.warn?.(
          `syncreplResources is mounted at '${req.baseUrl}' but its basePath is '${opts.basePath}': ` +
            `_url links will not resolve; pass basePath: '${req.baseUrl}'`,
        );
    }
    next();
  });
  const indexes = new Map<Upstream, ResourceIndex[]>();

  for (const def of opts.resources) {
    metrics.declareResource(def.name);
    const resource = new CompiledResource(
      def,
      (entry, err) =>
        opts.logger.error?.(
          `resource ${def.name}: its mapping failed for ${entry.dn} (${err instanceof Error ? err.message : String(err)}); the entry is left out`,
          { resource: def.name },
        ),
      opts.basePath,
    );
    const upstream = upstreams.get(def.source)!;
    const sourcePrint = sourcePrints.get(def.source)!;
    const index = new ResourceIndex(resource, upstream);
    indexes.set(upstream, [...(indexes.get(upstream) ?? []), index]);
    const frames = new Frames(codec, sourcePrint, upstream, (record) => metrics.observeDelivery(record));
    const resumer = new Resumer(upstream, frames, sourcePrint);

    const requireReady = () => {
      if (!upstream.ready) {
        throw new HttpError(
          503,
          `${def.name} is not ready yet: the directory is still loading or unreachable`,
          {
            'Retry-After': String(opts.retryAfterSeconds),
          },
        );
      }
    };

    const viewFor = async (req: Request, kind: 'list' | 'item' | 'subscribe'): Promise<View> => {
      const params: Record<string, string> = {};
      for (const p of resource.paramNames) params[p] = String(req.params[p] ?? '');
      const filters: [string, string][] = [];
      for (const [key, raw] of Object.entries(req.query)) {
        if (!key.startsWith('filter_')) continue;
        const name = key.slice('filter_'.length);
        if (!def.filters || !Object.hasOwn(def.filters, name))
          throw new HttpError(400, `unknown filter ${key} for ${def.name}`);
        const value = Array.isArray(raw) ? raw.at(-1) : raw;
        if (typeof value !== 'string') throw new HttpError(400, `filter ${key} needs one value`);
        filters.push([name, value]);
      }
      let authorization: Authorization = { allow: true };
      if (opts.authorize) authorization = await opts.authorize(req, { resource: def.name, params, kind });
      if (!authorization.allow) {
        throw new HttpError(
          authorization.status,
          authorization.message ?? (authorization.status === 401 ? 'unauthorized' : 'forbidden'),
          authorization.headers,
        );
      }
      return new View(resource, {
        params,
        filters,
        ...(authorization.scope !== undefined || authorization.filter
          ? {
              authorization: {
                // A filter must be named by its scope to be shared (frames, resumes) between
                // requests. Unnamed, it is this request's alone: it shares nothing, and a
                // resume under it gets a reset rather than someone else's view.
                scope: authorization.scope ?? (authorization.filter ? `unnamed:${randomUUID()}` : ''),
                allows: authorization.filter,
              },
            }
          : {}),
      });
    };

    /** The view's entries, sorted by id (listings are stable). */
    const entriesIn = (view: View) => {
      const out: Mapped[] = [];
      for (const [entryUUID, mapped] of index.group(view.params)) {
        const m = view.admitIndexed(entryUUID, mapped, upstream.store);
        if (m) out.push(m);
      }
      return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    };

    const list: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
      if (isSubscribe(req.query.subscribe)) return subscribe(req, res, next);
      const view = await viewFor(req, 'list');
      requireReady();
      const body = `[${entriesIn(view)
        .map((e) => e.json)
        .join(',')}]`;
      res.type('application/json').send(body);
    };

    const item: RequestHandler = async (req: Request, res: Response) => {
      const view = await viewFor(req, 'item');
      requireReady();
      const id = String(req.params.id ?? '');
      for (const [entryUUID, mapped] of index.group(view.params)) {
        if (mapped.id !== id) continue;
        const m = view.admitIndexed(entryUUID, mapped, upstream.store);
        if (m) {
          res.type('application/json').send(m.json);
          return;
        }
      }
      throw new HttpError(404, `no ${def.name} ${JSON.stringify(id)}`);
    };

    const subscribe = async (req: Request, res: Response, _next: NextFunction) => {
      // Last-Event-ID (sent by EventSource on reconnect) wins over the query parameter, which
      // only carries the position the page started from.
      const header = req.get(LAST_EVENT_ID_HEADER);
      const query = req.query[RESUME_QUERY_PARAMETER];
      const raw = header ?? (typeof query === 'string' ? query : undefined);
      const parsed = codec.parse(raw);
      if (parsed.kind === 'malformed') {
        metrics.resumes.inc({ resource: def.name, outcome: 'rejected' });
        throw new HttpError(400, `bad resume cookie: ${parsed.reason}`);
      }
      const view = await viewFor(req, 'subscribe');
      if (req.method === 'HEAD') {
        // The headers a stream would have, and no stream.
        res.writeHead(200, SSE_HEADERS).end();
        return;
      }
      // From here the stream is 200 at once, even while the source is not ready: a standard
      // EventSource gives up on any other status. It is held (heartbeats) until data can flow.
      const conn = new SseConnection(res, { retryMs: opts.retryMs });
      metrics.subscribers.inc({ resource: def.name });
      let session: StreamSession | undefined;
      const start = (begin: StreamStart): void => {
        const outcome: ResumeOutcome =
          parsed.kind === 'none' ? 'fresh' : begin.kind === 'replay' ? 'reset' : 'resumed';
        metrics.resumes.inc({ resource: def.name, outcome });
        opts.logger.debug?.(`stream of ${def.name}: ${outcome}`, { resource: def.name, outcome });
        session = new StreamSession(
          conn,
          view,
          {
            upstream,
            index,
            frames,
            metrics,
            slowClientTimeoutMs: opts.slowClientTimeoutMs,
            logger: opts.logger,
            onEnd: (s) => {
              streams.delete(s);
              metrics.subscribers.dec({ resource: def.name });
            },
          },
          begin,
        );
        if (!conn.isClosed) streams.add(session);
      };
      const position = parsed.kind === 'position' ? parsed.position : undefined;
      let expired = false;
      /** Starts the stream if its source allows it now; false: keep holding. */
      const attempt = (): boolean => {
        if (conn.isClosed) return true;
        const decision = resumer.decide(position, view);
        if (decision.kind === 'wait') {
          // An instance that stays behind a client it could serve (its provider lost what the
          // client has, or lags for long) resets it rather than hold it for ever.
          if (!(decision.why === 'behind the client' && expired && upstream.state === 'live')) return false;
          start({ kind: 'replay', reset: true });
          return true;
        }
        start(parsed.kind === 'untrusted' ? { kind: 'replay', reset: true } : decision);
        return true;
      };
      if (attempt()) return;
      held.add(conn);
      const offs = [
        upstream.on('state', retry),
        upstream.on('position', retry),
        upstream.on('change', retry),
      ];
      const timer = setTimeout(() => {
        expired = true;
        retry();
      }, opts.resumeWaitMs);
      timer.unref();
      function release(): void {
        held.delete(conn);
        clearTimeout(timer);
        for (const off of offs) off();
      }
      function retry(): void {
        if (attempt()) release();
      }
      conn.onClose(() => {
        release();
        if (!session) metrics.subscribers.dec({ resource: def.name });
      });
    };

    router.get(def.path, list);
    router.get(resource.itemPath, item);
  }

  // Errors this router raises answer as RFC 9457 problem details (JSON, no stack), with one log
  // line for a client's mistake; anything else goes on to the application's error handler.
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (!(err instanceof HttpError) || res.headersSent) return next(err);
    const problem = {
      type: 'about:blank',
      title: STATUS_CODES[err.status] ?? 'Error',
      status: err.status,
      detail: err.message,
      instance: req.originalUrl.split('?')[0],
    };
    opts.logger.info?.(`${req.method} ${problem.instance}: ${err.status} ${err.message}`, {
      status: err.status,
    });
    res.status(err.status).set(err.headers).type('application/problem+json');
    if (req.method === 'HEAD') res.end();
    else res.send(JSON.stringify(problem));
  });

  // Index every resource of a source as soon as it is ready, in one pass over its replica.
  for (const [upstream, list] of indexes) {
    const off = upstream.on('state', () => {
      if (!upstream.ready) return;
      off();
      ResourceIndex.buildAll(list, upstream.store);
    });
  }

  const metricsHandler: RequestHandler = async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };

  Object.assign(router, {
    async ready() {
      await started;
      await Promise.all(
        [...upstreams.values()].map(
          (u) =>
            new Promise<void>((resolve) => {
              if (u.ready) return resolve();
              const off = u.on('state', () => {
                if (u.ready) {
                  off();
                  resolve();
                }
              });
            }),
        ),
      );
    },
    async close() {
      clearInterval(heartbeat);
      for (const s of [...streams]) s.conn.end();
      for (const c of [...held]) c.end();
      await started.catch(() => {});
      await Promise.all([...upstreams.values()].map((u) => u.stop()));
    },
    metricsHandler,
    upstreams,
  });
  return router;
}

function isSubscribe(v: unknown): boolean {
  return v === '1' || v === 'true';
}
