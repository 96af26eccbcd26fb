/**
 * The server under test in bench/fanout.ts: the SubMan application (examples/subman/src/app.ts,
 * over the built @syncrepl-rx/server) on a given slapd, alone in its process, so that the RSS and
 * CPU the parent reads from /proc/PID are the server's own.
 *
 *   forked by bench/fanout.ts as `node --import tsx fanout/server.ts` with an IPC channel
 *
 * IPC in                                                      IPC out
 *   { type: 'start', url, bindDN, password }               →  { type: 'ready', port, startMs, entries }
 *   { type: 'profile', action: 'start' }                   →  { type: 'profiling' }
 *   { type: 'profile', action: 'stop', file }              →  { type: 'profiled', file }
 *   { type: 'stop' }                                       →  (closes streams, the source, exits)
 *
 * The profile (node:inspector) covers only the window between start and stop, e.g. the stream
 * of modifications, not start-up or the connection ramp.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { createSubmanApp } from '../../examples/subman/src/app.js';

type Message =
  | { type: 'start'; url: string; bindDN: string; password: string }
  | { type: 'profile'; action: 'start' }
  | { type: 'profile'; action: 'stop'; file: string }
  | { type: 'stop' };

const send = (m: Record<string, unknown>) => process.send?.(m);
let close: (() => Promise<void>) | undefined;
let session: Session | undefined;

process.on('message', (m: Message) => {
  void handle(m).catch((err: unknown) => {
    send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});
process.on('disconnect', () => process.exit(0));

async function handle(m: Message): Promise<void> {
  if (m.type === 'start') {
    const started = performance.now();
    const { app, api } = createSubmanApp({
      ldap: { url: m.url, bindDN: m.bindDN, password: m.password },
      secret: randomBytes(32).toString('base64url'),
      logger: {
        warn: (msg) => process.stderr.write(`server warning: ${msg}\n`),
        error: (msg) => process.stderr.write(`server error: ${msg}\n`),
      },
    });
    const listening: Server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      listening.once('listening', resolve);
      listening.once('error', reject);
    });
    await api.ready();
    close = async () => {
      await api.close();
      listening.closeAllConnections();
      await new Promise((resolve) => listening.close(resolve));
    };
    const entries = [...api.upstreams.values()].reduce((n, u) => n + u.store.size, 0);
    send({
      type: 'ready',
      port: (listening.address() as AddressInfo).port,
      startMs: performance.now() - started,
      entries,
    });
  } else if (m.type === 'profile' && m.action === 'start') {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    send({ type: 'profiling' });
  } else if (m.type === 'profile' && m.action === 'stop') {
    if (!session) throw new Error('no profile running');
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    session = undefined;
    await writeFile(m.file, JSON.stringify(profile));
    send({ type: 'profiled', file: m.file });
  } else if (m.type === 'stop') {
    await close?.();
    process.exit(0);
  }
}
