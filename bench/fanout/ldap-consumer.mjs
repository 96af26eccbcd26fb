/**
 * The in-stack floor for bench/fanout.ts: one `syncrepl()` refreshAndPersist consumer (built
 * @syncrepl-rx/core, packages/core/dist) on the same view as the SSE subscribers, recording how
 * long after the LDAP write each marker arrived. The SSE path adds the server's replica, change
 * log, views and HTTP to this.
 *
 *   forked by bench/fanout.ts with an IPC channel; the connection settings (with the password)
 *   arrive as the first message, so no credential is ever in an argv or the environment.
 *
 * IPC in: { type: 'start', url, bindDN, password, base, scope, filter, attributes }
 *         { type: 'report' } | { type: 'close' }
 * IPC out: { type: 'live' } once the refresh is done; { type: 'report', latencies: [[marker, ms]] }
 */
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { getAttribute, syncrepl } from '@syncrepl-rx/core';

const STATUS_MARKER = /^m(\d+)-(\d+(?:\.\d+)?)$/;
const wallNow = () => performance.timeOrigin + performance.now();
/** marker → latency (ms). Bounded: the parent sends at most a few thousand markers per run. */
const latencies = new Map();
const MAX_MARKERS = 100_000;
let subscription;

process.on('message', (msg) => {
  if (msg.type === 'start') start(msg);
  else if (msg.type === 'report') process.send({ type: 'report', latencies: [...latencies] });
  else if (msg.type === 'close') {
    subscription?.unsubscribe();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

function start({ url, bindDN, password, base, scope, filter, attributes }) {
  subscription = syncrepl({
    url,
    bindDN,
    password,
    base,
    scope,
    filter,
    attributes,
    mode: 'refreshAndPersist',
  }).subscribe({
    next(m) {
      const at = wallNow();
      if (m.type === 'add' || m.type === 'modify') {
        const value = getAttribute(m.attributes, 'submanStatus')?.[0];
        const hit = typeof value === 'string' ? STATUS_MARKER.exec(value) : null;
        if (hit && latencies.size < MAX_MARKERS) latencies.set(Number(hit[1]), at - Number(hit[2]));
      } else if ((m.type === 'refreshDelete' || m.type === 'refreshPresent') && m.refreshDone) {
        process.send({ type: 'live' });
      }
    },
    error(err) {
      process.stderr.write(`ldap-consumer: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  });
}
