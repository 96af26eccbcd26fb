/**
 * Full refreshOnly of a large directory: syncrepl() and the syncrepl-rx CLI beside ldapsearch and
 * python-ldap's SyncreplConsumer, measured in the same run against the same slapd.
 *
 *   pnpm --dir bench exec tsx refresh.ts [--entries 100000] [--runs 5] [--warmup 1]
 *                                        [--only NAME,...] [--profile] [--server openldap|389ds]
 *                                        [--baseline DIR]
 *
 * `--baseline DIR` adds rows from another checkout of this repository (built: `pnpm install`, then
 * `pnpm -s build` there), e.g. `git worktree add ../base <commit>`: its syncrepl() → count, the typed
 * pipeline into each store and its CLI, suffixed "(baseline)", interleaved with ours in the same run.
 * That is how a change shows no regression against an earlier build on a noisy machine.
 *
 * `--server 389ds` runs the same rows against 389 Directory Server (test/fixtures/ds389.ts: Retro
 * Changelog + Content Synchronization plugins), loaded online (slower to set up).
 *
 * Needs a built core (`pnpm -s build` at the root), slapd + ldap-utils, GNU time for peak RSS and
 * python3-ldap (+ pyasn1, pyasn1-modules) for the python row. docs/performance.md explains the rows.
 * It prints figures, it asserts nothing: the targets below are reported, not enforced.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { BENCH_DIR, REPO_ROOT, checkCoreBuild, startPeopleDirectory } from './lib/directory.js';
import {
  fmt,
  hasGnuTime,
  machineInfo,
  markdownTable,
  median,
  runInterleaved,
  runOnce,
  summarize,
  versionOf,
  writeResults,
  type Contender,
  type Sample,
  type Summary,
} from './lib/measure.js';
import { readProfile, summarizeProfile } from './lib/cpuprofile.js';

/** What we aim for against ldapsearch -E sync=ro (reported, never asserted; issue 13 §3). */
const TARGETS = { wallRatio: 1.2, peakRssMB: 150, startupMs: 40 };
/** Issue 3: the typed pipeline, syncrepl() then replicate(), into each store. */
const REPLICA_ROWS = [
  { name: 'syncrepl() → replicate(MemoryStore)', keep: 'memory-store', wallRatio: 1.1, peakRssMB: 100 },
  { name: 'syncrepl() → replicate(LmdbStore)', keep: 'lmdb-store', wallRatio: 1.3, peakRssMB: 120 },
] as const;
/** The CLI as a whole process, against ldapsearch printing LDIF (issue 13 §3). */
const CLI_TYPED = 'syncrepl-rx tail --format ndjson (changes)';
const CLI_LDIF = 'syncrepl-rx tail -LLL (changes as LDIF)';
const CLI_ROWS = [
  { name: CLI_TYPED, wallRatio: 1.3 },
  { name: CLI_LDIF, wallRatio: 1.2 },
] as const;
const REFERENCE = 'ldapsearch -E sync=ro';
const OURS = 'syncrepl() → count';
const PYTHON = '/usr/bin/python3';
const NODE_ALONE = 'node -e "" (start-up only)';
const NODE_IMPORT = 'node + import @syncrepl-rx/core (start-up only)';
const STARTUP_ONLY = new Set([NODE_ALONE, NODE_IMPORT]);

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '1' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    server: { type: 'string', default: 'openldap' },
    baseline: { type: 'string' },
  },
});
const entries = Number(args.entries);
const runs = Number(args.runs);
const warmup = Number(args.warmup);
const server = args.server === '389ds' ? '389ds' : 'openldap';
if (args.server !== server) {
  console.error('refresh.ts: --server is openldap or 389ds');
  process.exit(2);
}
if (!Number.isInteger(entries) || entries < 1 || !Number.isInteger(runs) || runs < 1 || !(warmup >= 0)) {
  console.error('refresh.ts: --entries and --runs must be positive integers, --warmup ≥ 0');
  process.exit(2);
}

const stale = checkCoreBuild();
if (stale.length > 0) {
  console.error(
    `warning: packages/core/dist is older than ${stale.join(', ')}; run \`pnpm -s build\` first.`,
  );
}
const gnuTime = await hasGnuTime();
if (!gnuTime) {
  console.error('warning: /usr/bin/time is missing (Debian package `time`): peak RSS and CPU will read n/a.');
}
const pythonSkip = await pythonLdapMissing();

const machine = machineInfo({
  slapd:
    server === '389ds'
      ? `389 Directory Server ${(await versionOf(['dpkg-query', '-W', '-f', '${Version}', '389-ds-base'])) ?? 'unknown'}`
      : ((await versionOf(['/usr/sbin/slapd', '-VV'])) ?? 'unknown'),
  ldapsearch: (await versionOf(['ldapsearch', '-VV'])) ?? 'unknown',
  'python-ldap': pythonSkip
    ? 'n/a'
    : ((await versionOf([PYTHON, '-c', 'import ldap; print(ldap.__version__)'])) ?? 'n/a'),
});

// Other work on the machine shows up as spread (min–max) and inflated medians; say so in the output.
const loadAtStart = loadavg()[0] ?? NaN;
console.error(
  `loading ${fmt(entries)} entries into a temporary ${server === '389ds' ? '389-ds (ldapadd over LDAPI)' : 'slapd (slapadd)'}...`,
);
const directory = await startPeopleDirectory(entries, server);
try {
  const { slapd, base, readerPasswordFile: pw } = directory;
  console.error(`loaded in ${fmt(directory.loadMs / 1000, 1)} s: ${slapd.url}, base ${base}`);

  // Children get the fixture's LDAP environment (no system ldap.conf) and none of tsx's loader options.
  const env: NodeJS.ProcessEnv = { ...slapd.ldapEnv };
  delete env.NODE_OPTIONS;
  const auth = ['-x', '-H', slapd.url, '-D', slapd.readerDN, '-y', pw, '-b', base];
  const child = join(BENCH_DIR, 'children', 'syncrepl-refresh.mjs');
  const childArgs = ['--url', slapd.url, '--bind-dn', slapd.readerDN, '--password-file', pw, '--base', base];
  const cli = join(REPO_ROOT, 'packages', 'core', 'dist', 'cli', 'main.js');

  // The rows, as data. A later row (e.g. syncrepl() + replicate() into a store) is one more entry here.
  const contenders: Contender[] = [
    {
      name: REFERENCE,
      argv: ['ldapsearch', ...auth, '-E', 'sync=ro', '-LLL'],
      env,
      stdout: 'discard',
      countEntries: countLdif,
    },
    {
      name: 'ldapsearch (plain search)',
      argv: ['ldapsearch', ...auth, '-LLL'],
      env,
      stdout: 'discard',
      countEntries: countLdif,
    },
    { name: OURS, argv: [process.execPath, child, ...childArgs], env, stdout: 'report' },
    {
      name: 'syncrepl() → Map<entryUUID>',
      argv: [process.execPath, child, ...childArgs, '--keep', 'map'],
      env,
      stdout: 'report',
    },
    ...REPLICA_ROWS.map((r): Contender => ({
      name: r.name,
      argv: [
        process.execPath,
        '--expose-gc',
        child,
        ...childArgs,
        '--keep',
        r.keep,
        '--store-dir',
        join(directory.slapd.dir, `bench-${r.keep}`),
      ],
      env,
      stdout: 'report',
    })),
    {
      // The protocol stream, as ldapsearch -E sync=ro prints it: the CLI's closest match to the reference.
      name: 'syncrepl-rx tail --messages --format ndjson',
      argv: [
        process.execPath,
        cli,
        'tail',
        ...auth,
        '--mode',
        'refreshOnly',
        '--messages',
        '--format',
        'ndjson',
      ],
      env,
      stdout: 'discard',
      countEntries: countNdjson,
    },
    {
      // The default output: typed changes, through replicate() and its in-memory replica.
      name: CLI_TYPED,
      argv: [process.execPath, cli, 'tail', ...auth, '--mode', 'refreshOnly', '--format', 'ndjson'],
      env,
      stdout: 'discard',
      countEntries: countNdjson,
    },
    {
      // The same changes as LDIF change records, without comments or version: like ldapsearch -LLL.
      name: CLI_LDIF,
      argv: [process.execPath, cli, 'tail', ...auth, '--mode', 'refreshOnly', '-LLL'],
      env,
      stdout: 'discard',
      countEntries: countLdif,
    },
    {
      name: 'python-ldap SyncreplConsumer → dict',
      argv: [PYTHON, join(BENCH_DIR, 'peers', 'python_syncrepl.py'), slapd.url, slapd.readerDN, pw, base],
      env,
      stdout: 'report',
      ...(pythonSkip ? { skip: pythonSkip } : {}),
    },
    // Start-up references: how much of a Node row's wall time is the runtime and our module graph.
    { name: NODE_ALONE, argv: [process.execPath, '-e', ''], env, stdout: 'discard' },
    {
      name: NODE_IMPORT,
      argv: [process.execPath, '--input-type=module', '-e', "await import('@syncrepl-rx/core')"],
      env,
      cwd: BENCH_DIR,
      stdout: 'discard',
    },
  ];
  if (args.baseline) contenders.push(...baselineRows(args.baseline, contenders));
  const only = args.only?.split(',').map((s) => s.trim().toLowerCase());
  const selected = only
    ? contenders.filter((c) => c.name === REFERENCE || only.some((o) => c.name.toLowerCase().includes(o)))
    : contenders;

  console.error(
    `running ${selected.length} contenders: ${warmup} warm-up + ${runs} timed rounds, interleaved`,
  );
  const results = await runInterleaved(selected, {
    runs,
    warmup,
    gnuTime,
    onSample(contender, sample, round) {
      const label = round < 0 ? 'warm-up' : `run ${round + 1}/${runs}`;
      const inner = sample.report ? ` (in-process ${fmt(sample.report.ms)} ms)` : '';
      const rss = sample.peakRssMB === undefined ? '' : `, ${fmt(sample.peakRssMB)} MB`;
      const failed =
        sample.exitCode === 0
          ? ''
          : ` FAILED (exit ${sample.exitCode ?? sample.signal}): ${sample.stderrTail}`;
      console.error(`  [${label}] ${contender.name}: ${fmt(sample.wallMs)} ms${inner}${rss}${failed}`);
    },
  });

  // ---- the table
  const summaries = new Map<string, Summary>();
  for (const [name, samples] of results.samples) summaries.set(name, summarize(samples));
  const reference = summaries.get(REFERENCE)?.wallMs.median ?? NaN;
  // On a shared machine a neighbour slows some runs of any row; the fastest run of each is the
  // least disturbed, so their ratio is printed beside the medians'.
  const referenceMin = summaries.get(REFERENCE)?.wallMs.min ?? NaN;
  const fastest = (s: Summary | undefined) => times((s?.wallMs.min ?? NaN) / referenceMin);
  const expected = directory.expectedEntries;
  const rows: string[][] = [];
  const row = (
    name: string,
    ms: { median: number; min: number; max: number },
    s: Summary,
    note = '',
  ): string[] => [
    `${name}${note}`,
    fmt(ms.median),
    `${fmt(ms.min)}–${fmt(ms.max)}`,
    fmt(expected / (ms.median / 1000)),
    fmt(s.peakRssMB, 1),
    fmt(s.cpuS, 2),
    times(ms.median / reference),
    times(ms.min / referenceMin),
  ];
  for (const contender of selected) {
    if (contender.skip !== undefined) {
      rows.push([`${contender.name} (skipped: ${contender.skip})`, '', '', '', '', '', '', '']);
      continue;
    }
    const s = summaries.get(contender.name);
    if (!s || s.ok === 0) {
      rows.push([`${contender.name} (every run failed)`, '', '', '', '', '', '', '']);
      continue;
    }
    const counted = results.check.get(contender.name)?.counted;
    const warnings = [
      ...(s.failed > 0 ? [`${s.failed} of ${s.ok + s.failed} runs failed`] : []),
      ...(counted !== undefined && counted !== expected ? [`returned ${fmt(counted)} entries!`] : []),
    ];
    const note = warnings.length > 0 ? ` ⚠ ${warnings.join('; ')}` : '';
    if (STARTUP_ONLY.has(contender.name)) {
      rows.push([
        ...row(contender.name, s.wallMs, s).slice(0, 3),
        '—',
        ...row(contender.name, s.wallMs, s).slice(4),
      ]);
      continue;
    }
    rows.push(row(contender.name, s.wallMs, s, note));
    if (s.innerMs) rows.push(row(`${contender.name}, in-process`, s.innerMs, s));
  }
  const header = [
    'contender',
    'median wall ms',
    'min–max',
    'entries/s (median)',
    'peak RSS MB (median)',
    'CPU s (median)',
    `ratio to ${REFERENCE}`,
    'ratio, fastest runs',
  ];
  const table = markdownTable(header, rows);

  const ours = summaries.get(OURS);
  const targetLines: string[] = [];
  if (ours && Number.isFinite(reference)) {
    const ratio = ours.wallMs.median / reference;
    const innerRatio = (ours.innerMs?.median ?? NaN) / reference;
    targetLines.push(
      `- wall time: ${OURS} ${times(ratio)} ldapsearch -E sync=ro as a whole process ` +
        `(${times(innerRatio)} in-process; fastest runs ${fastest(ours)}); target ≤ ${TARGETS.wallRatio}×: ${ratio <= TARGETS.wallRatio ? 'met' : 'MISSED'}`,
      // CPU seconds barely move when other work shares the machine; wall time does.
      `- CPU (user + sys): ${OURS} ${fmt(ours.cpuS, 2)} s, ldapsearch -E sync=ro ` +
        `${fmt(summaries.get(REFERENCE)?.cpuS ?? NaN, 2)} s (${times(ours.cpuS / (summaries.get(REFERENCE)?.cpuS ?? NaN))}; ` +
        'steadier than wall time on a busy machine)',
      `- peak RSS: ${OURS} ${fmt(ours.peakRssMB, 1)} MB; target ≤ ${TARGETS.peakRssMB} MB: ` +
        `${ours.peakRssMB <= TARGETS.peakRssMB ? 'met' : Number.isFinite(ours.peakRssMB) ? 'MISSED' : 'n/a'}`,
    );
  }

  for (const r of CLI_ROWS) {
    const summary = summaries.get(r.name);
    if (!summary || !Number.isFinite(reference)) continue;
    const ratio = summary.wallMs.median / reference;
    targetLines.push(
      `- ${r.name}: ${times(ratio)} ldapsearch -E sync=ro -LLL (fastest runs ${fastest(summary)}); target ≤ ${r.wallRatio}×: ` +
        `${ratio <= r.wallRatio ? 'met' : 'MISSED'}; peak RSS ${fmt(summary.peakRssMB, 1)} MB, CPU ${fmt(summary.cpuS, 2)} s`,
    );
  }
  const alone = summaries.get(NODE_ALONE);
  const imported = summaries.get(NODE_IMPORT);
  if (alone && imported) {
    const more = imported.wallMs.median - alone.wallMs.median;
    targetLines.push(
      `- start-up: node + import @syncrepl-rx/core takes ${fmt(more)} ms more than node -e "" ` +
        `(CPU ${fmt((imported.cpuS - alone.cpuS) * 1000)} ms more); target ≤ ${TARGETS.startupMs} ms: ` +
        `${more <= TARGETS.startupMs ? 'met' : 'MISSED'}`,
    );
  }

  for (const r of REPLICA_ROWS) {
    const summary = summaries.get(r.name);
    if (!summary || !Number.isFinite(reference)) continue;
    const ratio = summary.wallMs.median / reference;
    const perEntry = median(
      (results.samples.get(r.name) ?? []).map((x) =>
        Number((x.report as { bytesPerEntry?: number } | undefined)?.bytesPerEntry),
      ),
    );
    targetLines.push(
      `- ${r.name}: ${times(ratio)} ldapsearch -E sync=ro (${times((summary.innerMs?.median ?? NaN) / reference)} in-process; fastest runs ${fastest(summary)}); ` +
        `target ≤ ${r.wallRatio}×: ${ratio <= r.wallRatio ? 'met' : 'MISSED'}; peak RSS ${fmt(summary.peakRssMB, 1)} MB ` +
        `(target ≤ ${r.peakRssMB}: ${summary.peakRssMB <= r.peakRssMB ? 'met' : 'MISSED'}); ` +
        `${r.keep === 'lmdb-store' ? 'LMDB data file' : 'replica heap'} per entry: ${fmt(perEntry)} bytes`,
    );
  }

  const date = new Date().toISOString();
  const loadAtEnd = loadavg()[0] ?? NaN;
  const busy = Math.max(loadAtStart, loadAtEnd) > cpus().length / 2;
  const out = [
    '',
    `## refresh: full refreshOnly of ${base}, ${fmt(entries)} inetOrgPerson entries (${fmt(expected)} returned)`,
    '',
    `${date} · ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGB} GB · Linux ${machine.kernel} · Node ${machine.node}`,
    `${machine.slapd} (${server === '389ds' ? 'bdb + retro changelog + content sync' : 'mdb + syncprov'}, loopback) · ${machine.ldapsearch} · python-ldap ${machine['python-ldap']}`,
    `${runs} timed runs per contender after ${warmup} warm-up, interleaved; wall = spawn to exit, from the parent.`,
    `1-minute load average: ${fmt(loadAtStart, 1)} at the start, ${fmt(loadAtEnd, 1)} at the end` +
      (busy ? ' (the machine was busy: expect noisy figures; compare ratios, not absolutes)' : ''),
    '',
    table,
    '',
    ...targetLines,
    '',
  ].join('\n');
  console.log(out);

  // ---- optional CPU profile of our child
  let profile: ReturnType<typeof summarizeProfile> | undefined;
  if (args.profile) {
    const dir = join(BENCH_DIR, 'results', 'profiles');
    await mkdir(dir, { recursive: true });
    const name = `refresh-${date.replace(/[:.]/g, '-')}.cpuprofile`;
    const profiled: Contender = {
      name: `${OURS} (--cpu-prof)`,
      argv: [
        process.execPath,
        '--cpu-prof',
        '--cpu-prof-dir',
        dir,
        '--cpu-prof-name',
        name,
        child,
        ...childArgs,
      ],
      env,
      stdout: 'report',
    };
    const sample: Sample = await runOnce(profiled, { gnuTime: false });
    profile = summarizeProfile(readProfile(join(dir, name)), REPO_ROOT, 10);
    console.log(profileReport(profile, sample, join(dir, name)));
  }

  const file = await writeResults(
    join(BENCH_DIR, 'results'),
    server === '389ds' ? 'refresh-389ds' : 'refresh',
    {
      server,
      benchmark: 'refresh',
      date,
      machine,
      entries,
      expectedEntries: expected,
      loadMs: directory.loadMs,
      runs,
      warmup,
      gnuTime,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      targets: TARGETS,
      contenders: selected.map((c) => ({
        name: c.name,
        argv: c.argv,
        skip: c.skip,
        summary: summaries.get(c.name),
        counted: results.check.get(c.name)?.counted,
        samples: results.samples.get(c.name),
      })),
      table,
      profile,
    },
  );
  console.error(`results: ${file.slice(REPO_ROOT.length + 1)}`);
} finally {
  await directory.close();
}

function profileReport(p: ReturnType<typeof summarizeProfile>, sample: Sample, file: string): string {
  const rows = p.hotSpots.map((h, i) => [
    String(i + 1),
    h.functionName,
    h.location,
    fmt(h.selfMs),
    `${fmt(h.selfPercent, 1)}%`,
  ]);
  return [
    `### CPU profile of ${OURS} (one run, ${fmt(sample.report?.ms ?? NaN)} ms in-process)`,
    '',
    `profile ${fmt(p.totalMs)} ms: idle ${fmt(p.idleMs)} ms (waiting on the socket), GC ${fmt(p.gcMs)} ms · ${file.slice(REPO_ROOT.length + 1)}`,
    '',
    markdownTable(['#', 'function', 'location', 'self ms', 'self % of busy'], rows, 'rllrr'),
    '',
  ].join('\n');
}

/** A ratio as `1.23×`, or `n/a` when it is not a finite number (e.g. divided by 0.00 CPU seconds). */
function times(ratio: number): string {
  return Number.isFinite(ratio) ? `${fmt(ratio, 2)}×` : 'n/a';
}

/** Entries in `ldapsearch -LLL` output: one `dn:` (or base64 `dn::`) line each. */
function countLdif(stdout: string): number {
  return stdout.match(/^dn::? /gm)?.length ?? 0;
}

/** Entries in `syncrepl-rx tail --format ndjson` output: entry messages, or add/modify changes. */
function countNdjson(stdout: string): number {
  let n = 0;
  for (const line of stdout.split('\n')) {
    if (/^\{"type":"(present|add|modify)"/.test(line)) n++;
  }
  return n;
}

/** Why the python row cannot run here, or undefined when it can. */
async function pythonLdapMissing(): Promise<string | undefined> {
  try {
    await promisify(execFile)(PYTHON, ['-c', 'import ldap.syncrepl']);
    return undefined;
  } catch {
    return `${PYTHON} cannot import ldap.syncrepl; install Debian python3-ldap python3-pyasn1 python3-pyasn1-modules`;
  }
}

/**
 * The same rows run from another checkout (--baseline): its own child script, which resolves its
 * own built core, and its own CLI. Only the rows an earlier build is compared on.
 */
function baselineRows(dir: string, ours: Contender[]): Contender[] {
  const root = resolve(dir);
  const swap = (arg: string): string =>
    arg.startsWith(REPO_ROOT + '/') ? join(root, arg.slice(REPO_ROOT.length + 1)) : arg;
  const compared = new Set<string>([OURS, ...REPLICA_ROWS.map((r) => r.name), CLI_TYPED, CLI_LDIF]);
  return ours
    .filter((c) => compared.has(c.name))
    .map((c) => ({
      ...c,
      name: `${c.name} (baseline)`,
      argv: c.argv.map((a, i) => (i === 0 ? a : swap(a))),
    }));
}
