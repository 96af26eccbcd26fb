/**
 * Loaded into server instance 2 by bench/failover.ts --profile (NODE_OPTIONS=--import, for that
 * one spawn: Node refuses --cpu-prof in NODE_OPTIONS). SIGUSR2 starts the V8 CPU profiler
 * (node:inspector, in-process); the next SIGUSR2 stops it and writes the profile to
 * SYNCREPL_RX_FAILOVER_PROFILE, then to `<that>.done` a line that says it is written. So the
 * profile covers the reconnect window only, not start-up.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const file = process.env.SYNCREPL_RX_FAILOVER_PROFILE;
let session;

process.on('SIGUSR2', () => {
  if (!file) return;
  if (!session) {
    session = new Session();
    session.connect();
    void session.post('Profiler.enable').then(() => session.post('Profiler.start'));
    return;
  }
  const s = session;
  session = undefined;
  void s
    .post('Profiler.stop')
    .then(({ profile }) => {
      writeFileSync(file, JSON.stringify(profile));
      writeFileSync(`${file}.done`, 'written\n');
      s.disconnect();
    })
    .catch((err) => process.stderr.write(`profile: ${err.message}\n`));
});
