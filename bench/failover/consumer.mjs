/**
 * One `syncrepl()` consumer for bench/failover.ts with a list of provider URLs
 * (`url: [urlA, urlB]`, `reconnect: true`): it reports every status change and the arrival of
 * the benchmark's markers with wall-clock times, so the parent can time how long after a
 * `kill -9` of the first provider the consumer persists on the second and receives a change
 * written there.
 *
 *   spawned by bench/failover.ts under tsx with the `@syncrepl-rx/source` condition (the core of
 *   this working tree, like the server instances), with an IPC channel; the connection settings
 *   (with the password) arrive as the first message, never in an argv or the environment.
 *
 * IPC in:  { type: 'start', urls, bindDN, password, base, filter, attribute, marker }
 *          { type: 'close' }
 * IPC out: { type: 'unsupported', message }   syncrepl() refused the URL list (before connecting)
 *          { type: 'status', state, at, url? } every onStatus call
 *          { type: 'live', at }                 the first refresh is done
 *          { type: 'marker', value, at }        an entry whose `attribute` starts with `marker`
 *          { type: 'message', kind, at }        every other message after the first refresh
 *          { type: 'error', message }           the Observable failed
 */
import { performance } from 'node:perf_hooks';
import { setImmediate } from 'node:timers';
import { getAttribute, syncrepl } from '@syncrepl-rx/core';

const wallNow = () => performance.timeOrigin + performance.now();
let subscription;

process.on('message', (msg) => {
  if (msg.type === 'start') start(msg);
  else if (msg.type === 'close') {
    subscription?.unsubscribe();
    setImmediate(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));

function start({ urls, bindDN, password, base, filter, attribute, marker }) {
  let live = false;
  let failedAtOnce;
  const observable = syncrepl({
    // A list of URLs: tried in turn when the current provider is lost.
    url: urls,
    bindDN,
    password,
    base,
    filter,
    attributes: [attribute],
    mode: 'refreshAndPersist',
    reconnect: true,
    onStatus(status) {
      const report = { type: 'status', state: status.state, at: wallNow() };
      // Whichever way the implementation names the provider it is on, pass it on.
      for (const key of ['url', 'endpoint', 'provider']) {
        if (typeof status[key] === 'string') report.url = status[key];
      }
      process.send(report);
    },
  });
  subscription = observable.subscribe({
    next(m) {
      const at = wallNow();
      if ((m.type === 'refreshDelete' || m.type === 'refreshPresent') && m.refreshDone && !live) {
        live = true;
        process.send({ type: 'live', at });
        return;
      }
      if (m.type === 'add' || m.type === 'modify') {
        const value = getAttribute(m.attributes, attribute)?.[0];
        if (typeof value === 'string' && value.startsWith(marker)) {
          process.send({ type: 'marker', value, at });
          return;
        }
      }
      if (live) process.send({ type: 'message', kind: m.type, at });
    },
    error(err) {
      const message = err instanceof Error ? err.message : String(err);
      if (failedAtOnce === undefined) failedAtOnce = message;
      else process.send({ type: 'error', message });
    },
  });
  // normalize() runs when subscribing: a URL list it does not take fails in this same turn.
  if (failedAtOnce !== undefined) process.send({ type: 'unsupported', message: failedAtOnce });
  else failedAtOnce = null;
}
