/**
 * The SubMan HTTP application: the 15 resource streams of docs/stream-contract.md §X1 (with their
 * REST listings and items) from one syncrepl source, Prometheus metrics, JSON errors, and the live
 * page.
 */
import express, { type ErrorRequestHandler, type Express } from 'express';
import { fileURLToPath } from 'node:url';
import {
  syncreplResources,
  type SyncreplResources,
  type SyncreplResourcesOptions,
} from '@syncrepl-rx/server';
import { SUFFIX, resources } from './model.js';

export interface SubmanOptions extends Omit<SyncreplResourcesOptions, 'sources' | 'resources'> {
  ldap: { url: string; bindDN?: string; password?: string; tls?: { ca?: string | Buffer } };
  /** Persist the replica and the change log (restarts resume streams without a replay). */
  storeDir?: string;
  /** Changes kept for resumes (default 10,000). */
  logCapacity?: number;
}

export function createSubmanApp(options: SubmanOptions): { app: Express; api: SyncreplResources } {
  const { ldap, storeDir, logCapacity, ...server } = options;
  const api = syncreplResources({
    ...server,
    sources: {
      subman: {
        url: ldap.url,
        bindDN: ldap.bindDN,
        password: ldap.password,
        tls: ldap.tls,
        base: SUFFIX,
        filter: '(objectClass=*)',
        storeDir,
        logCapacity,
        reconnect: { initialDelay: 200, maxDelay: 5000 },
      },
    },
    resources,
  });
  const app = express();
  app.disable('x-powered-by');
  app.use(api);
  app.get('/metrics', api.metricsHandler);
  // The client bundle the live page imports (built by `pnpm --dir packages/client bundle`).
  app.use(
    '/lib',
    express.static(fileURLToPath(new URL('../../../packages/client/dist/browser', import.meta.url))),
  );
  app.use(express.static(fileURLToPath(new URL('../public', import.meta.url))));
  const errors: ErrorRequestHandler = (
    err: { status?: number; message?: string; headers?: Record<string, string> },
    _req,
    res,
    _next,
  ) => {
    const status = typeof err.status === 'number' ? err.status : 500;
    if (err.headers) res.set(err.headers);
    res.status(status).json({ error: status >= 500 && status !== 503 ? 'internal error' : err.message });
  };
  app.use(errors);
  return { app, api };
}
