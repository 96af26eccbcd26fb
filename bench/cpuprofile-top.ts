/**
 * Top self-time functions of a V8 CPU profile, mapped to TypeScript source lines where the build has
 * source maps.
 *
 *   node --cpu-prof --cpu-prof-dir /tmp/prof bench/children/syncrepl-refresh.mjs ...
 *   pnpm --dir bench exec tsx cpuprofile-top.ts /tmp/prof/CPU.*.cpuprofile [--top 10]
 */
import { parseArgs } from 'node:util';
import { REPO_ROOT } from './lib/directory.js';
import { readProfile, summarizeProfile } from './lib/cpuprofile.js';
import { fmt, markdownTable } from './lib/measure.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '10' } },
});
if (positionals.length === 0) {
  console.error('usage: cpuprofile-top.ts FILE.cpuprofile... [--top N]');
  process.exit(2);
}
for (const file of positionals) {
  const p = summarizeProfile(readProfile(file), REPO_ROOT, Number(values.top));
  console.log(`${file}: ${fmt(p.totalMs)} ms, idle ${fmt(p.idleMs)} ms, GC ${fmt(p.gcMs)} ms\n`);
  const rows = p.hotSpots.map((h, i) => [
    String(i + 1),
    h.functionName,
    h.location,
    fmt(h.selfMs),
    `${fmt(h.selfPercent, 1)}%`,
  ]);
  console.log(
    `${markdownTable(['#', 'function', 'location', 'self ms', 'self % of busy'], rows, 'rllrr')}\n`,
  );
}
