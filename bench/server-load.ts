/**
 * The server's initial load (issue 13 §2): `syncreplResources()` from construction to `ready()`
 * (first refresh into its MemoryStore replica through syncrepl() → replicate() with the wire's
 * entry records, the resource indexed), beside `syncrepl() → replicate(MemoryStore)` alone on the
 * same entries, in the same run, interleaved.
 *
 *   pnpm --dir bench exec tsx server-load.ts [--entries 100000] [--runs 5]
 *
 * Needs a build (`pnpm -s build`: the children run packages/core and packages/server dist) and
 * slapd. Both rows are child processes that report their own in-process time (construction or
 * subscribe → ready/complete) and peak RSS (`process.resourceUsage().maxRSS`); the wall column is
 * spawn to exit. Prints the table on stdout, progress on stderr; asserts nothing (target ≤ 1.1×).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_DIR, startPeopleDirectory } from './lib/directory.js';
import {
  fmt,
  hasGnuTime,
  machineInfo,
  markdownTable,
  runInterleaved,
  summarize,
  versionOf,
  writeResults,
  type Contender,
} from './lib/measure.js';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
  },
});
const entries = Number(args.entries);
const runs = Number(args.runs);
if (
  !Number.isInteger(entries) ||
  entries < 1 ||
  entries > 1_000_000 ||
  !Number.isInteger(runs) ||
  runs < 1 ||
  runs > 50
) {
  console.error('server-load.ts: --entries 1..1,000,000, --runs 1..50');
  process.exit(2);
}

const OURS = 'server: syncreplResources() → ready()';
const PEER = 'syncrepl() → replicate(MemoryStore)';
const machine = machineInfo({ slapd: (await versionOf(['/usr/sbin/slapd', '-VV'])) ?? 'unknown' });
const loadAtStart = loadavg()[0] ?? NaN;
console.error(`loading ${fmt(entries)} entries into a temporary slapd...`);
const directory = await startPeopleDirectory(entries);
try {
  const { slapd, base, readerPasswordFile: pw } = directory;
  const env: NodeJS.ProcessEnv = { ...slapd.ldapEnv };
  delete env.NODE_OPTIONS;
  const childArgs = ['--url', slapd.url, '--bind-dn', slapd.readerDN, '--password-file', pw, '--base', base];
  const contenders: Contender[] = [
    {
      name: PEER,
      argv: [
        process.execPath,
        join(BENCH_DIR, 'children', 'syncrepl-refresh.mjs'),
        ...childArgs,
        '--keep',
        'memory-store',
      ],
      env,
      stdout: 'report',
    },
    {
      name: OURS,
      argv: [process.execPath, join(BENCH_DIR, 'children', 'server-load.mjs'), ...childArgs],
      env,
      stdout: 'report',
    },
  ];
  const results = await runInterleaved(contenders, {
    runs,
    warmup: 1,
    gnuTime: await hasGnuTime(),
    onSample(contender, sample, round) {
      const label = round < 0 ? 'warm-up' : `run ${round + 1}/${runs}`;
      const failed = sample.exitCode === 0 ? '' : ` FAILED: ${sample.stderrTail}`;
      console.error(
        `  [${label}] ${contender.name}: ${fmt(sample.report?.ms ?? NaN)} ms in-process, ` +
          `${fmt(sample.report?.peakRssMB ?? NaN)} MB${failed}`,
      );
    },
  });
  const s = new Map([...results.samples].map(([name, xs]) => [name, { summary: summarize(xs), xs }]));
  const peer = s.get(PEER)!;
  const ours = s.get(OURS)!;
  const rss = (xs: typeof peer.xs) => xs.map((x) => x.report?.peakRssMB ?? NaN);
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
  // The ratio of each round (the two rows ran back to back), then their median.
  const ratios = ours.xs.map((x, i) => (x.report?.ms ?? NaN) / (peer.xs[i]?.report?.ms ?? NaN));
  const row = (name: string, r: typeof peer, ratio: string) => {
    const inner = r.summary.innerMs!;
    const mb = rss(r.xs);
    return [
      name,
      fmt(r.summary.entries),
      fmt(inner.median),
      `${fmt(inner.min)}–${fmt(inner.max)}`,
      fmt(r.summary.wallMs.median),
      `${fmt(med(mb))} (${fmt(Math.min(...mb))}–${fmt(Math.max(...mb))})`,
      ratio,
    ];
  };
  const loadAtEnd = loadavg()[0] ?? NaN;
  const ratioText = `${fmt(med(ratios), 2)}× (${fmt(Math.min(...ratios), 2)}–${fmt(Math.max(...ratios), 2)})`;
  const out = [
    '',
    `## server-load: the server's initial load of ${fmt(entries)} entries`,
    '',
    `${new Date().toISOString()} · ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGB} GB · Node ${machine.node} · ${machine.slapd}`,
    `${runs} timed rounds after 1 warm-up, interleaved; 1-minute load average ${fmt(loadAtStart, 1)} at the start, ${fmt(loadAtEnd, 1)} at the end`,
    '',
    markdownTable(
      [
        'contender',
        'entries',
        'median ms (in-process)',
        'min–max',
        'wall ms (spawn → exit)',
        'peak RSS MB',
        'ratio',
      ],
      [row(PEER, peer, '1.00×'), row(OURS, ours, ratioText)],
    ),
    '',
    `- server load ÷ syncrepl() → replicate(MemoryStore), median of the rounds' ratios: ${ratioText} (target ≤ 1.1×: ${med(ratios) <= 1.1 ? 'met' : 'MISSED'})`,
  ];
  console.log(out.join('\n'));
  const file = await writeResults(join(BENCH_DIR, 'results'), 'server-load', {
    machine,
    entries,
    runs,
    loadAtStart,
    loadAtEnd,
    samples: Object.fromEntries(results.samples),
    ratios,
  });
  console.log(`\nresults: ${file}`);
} finally {
  await directory.close();
}
