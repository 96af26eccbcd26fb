/**
 * Failover: SSE subscribers of one server instance move to another after a `kill -9`, and a
 * `syncrepl()` consumer moves from one provider to the next after a `kill -9` of its provider.
 *
 *   pnpm --dir bench exec tsx failover.ts [--subscribers 1000] [--size 2000] [--changes 200]
 *        [--runs 3] [--groups 8] [--processes 2] [--concurrency 64] [--topology mirror|single]
 *        [--profile]
 *
 * Per run: two server instances (test/fixtures/instances.ts: their own processes and LMDB stores,
 * the same secret) serve the `people` resource of a directory of `--size` people; instance 1
 * follows provider A, instance 2 provider B (test/fixtures/topology.ts, mirror mode; without that
 * fixture both follow one slapd, and the output says so). `--subscribers` SSE clients in
 * `--processes` processes take the replay from instance 1; `--changes` modifications follow,
 * alternately on A and B, in `--groups - 1` chunks, and before each chunk one group of subscribers
 * disconnects, so their last ids hold `--groups` different positions. Once instance 2 has logged
 * every change, instance 1 is killed with SIGKILL and every subscriber reconnects to instance 2
 * with its last id as Last-Event-ID, at once. Then a consumer with `url: [A, B]` persists on A, A
 * is killed with SIGKILL, and a change is written on B.
 *
 * Needs slapd + ldap-utils; the instances and the consumer run the TypeScript of this working
 * tree (the `@syncrepl-rx/source` condition, like the tests). It prints figures and asserts
 * nothing. docs/performance.md ("Failover") explains the rows. `--profile` runs instance 2 under
 * `node --cpu-prof` and prints where its CPU went in the reconnect window of each run (the profile
 * costs the instance some CPU: the figures of a profiled run are not the ones to quote).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { peopleLdif, personDn } from '../test/fixtures/ldif.js';
import { startInstance, type Instance } from '../test/fixtures/instances.js';
import { BENCH_DIR, REPO_ROOT } from './lib/directory.js';
import { fmt, machineInfo, markdownTable, median, versionOf, writeResults } from './lib/measure.js';
import { LdapWriter, metric, percentile, readMachine, readProc } from './fanout/harness.js';
import {
  Consumer,
  Floor,
  Subscribers,
  pidListeningOn,
  profiledEnv,
  positionOf,
  resumeOutcomes,
  searchProbeCost,
  searchesInitiated,
  startDirectory,
  stopProfile,
  tcpCounters,
  untilReady,
  wallNow,
  windowProfile,
  type ConsumerEvent,
  type Directory,
  type WindowProfile,
} from './failover/harness.js';

/** Reported beside the figures, never asserted. */
const TARGETS = { readyP99Ms: 500 };
const BASE = 'ou=people,dc=example,dc=com';
const ATTRIBUTE = 'description';
const SESSIONLOG = 10_000;

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '1000' },
    size: { type: 'string', default: '2000' },
    changes: { type: 'string', default: '200' },
    runs: { type: 'string', default: '3' },
    groups: { type: 'string', default: '8' },
    processes: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '64' },
    topology: { type: 'string', default: 'mirror' },
    profile: { type: 'boolean', default: false },
  },
});
const subscribers = Number(args.subscribers.replace(/_/g, ''));
const size = Number(args.size.replace(/_/g, ''));
const changes = Number(args.changes);
const runs = Number(args.runs);
const groups = Number(args.groups);
const processes = Number(args.processes);
const concurrency = Number(args.concurrency);
const whole = (x: number, min: number, max: number) => Number.isInteger(x) && x >= min && x <= max;
if (
  !whole(subscribers, 1, 5_000) ||
  !whole(size, 10, 100_000) ||
  !whole(groups, 2, 64) ||
  !whole(changes, groups - 1, 5_000) ||
  !whole(runs, 1, 10) ||
  !whole(processes, 1, 4) ||
  !whole(concurrency, 1, 512) ||
  (args.topology !== 'mirror' && args.topology !== 'single')
) {
  console.error(
    'failover.ts: --subscribers 1..5,000, --size 10..100,000, --changes ≥ --groups - 1 (≤ 5,000; the change ' +
      'log holds 10,000), --runs 1..10, --groups 2..64, --processes 1..4, --topology mirror|single; see the header.',
  );
  process.exit(2);
}

const log = (line: string) => console.error(line);
const date = new Date().toISOString();
const machine = machineInfo({ slapd: (await versionOf(['/usr/sbin/slapd', '-VV'])) ?? 'unknown' });
const loadAtStart = loadavg()[0] ?? NaN;
const secret = randomBytes(24).toString('base64url');

// ------------------------------------------------------------------------------------------------
// 1–4. SSE subscribers: instance 1 killed, everyone resumes on instance 2

interface FailoverRun {
  opened: { ready: number; failed: number; ms: number };
  /** Subscribers cut off by instance 1 before the kill (should be 0). */
  droppedBeforeKill: number;
  /** Changes instance 1's live subscribers had not all received within the wait (should be 0). */
  undelivered: number;
  frozen: number[];
  distinctPositions: number;
  idsWithoutPosition: number;
  resumed: number;
  reset: number;
  failed: number;
  statuses: Record<string, number>;
  readyP50Ms: number;
  readyP99Ms: number;
  readyMaxMs: number;
  /** TCP connections that took a second or more: a SYN retransmitted after a full listen queue. */
  slowConnects: number;
  /** Per subscriber, from its TCP connection to its `ready` (the server's part, without the SYN wait). */
  connectedToReadyP99Ms: number;
  listenOverflows: number;
  catchUpP50: number;
  catchUpMax: number;
  /** Subscribers whose events before ready were exactly the entries changed since they left. */
  exactCatchUps: number;
  /** Entry events beyond those entries, and those entries that did not come, over all subscribers. */
  extraEvents: number;
  missingEvents: number;
  ldapSearches: number;
  probeCost: number;
  cpuMs: number;
  windowMs: number;
  rssBeforeMB: number;
  peakRssMB: number;
  serverOutcomes: Record<string, number>;
  machineBusy: number;
  stderr: string;
  profile?: WindowProfile;
  /** The same reconnects, the same ids, answered by a bare node:http server (floor.mjs). */
  floor?: FloorRun;
}

interface FloorRun {
  resumed: number;
  failed: number;
  readyP50Ms: number;
  readyP99Ms: number;
  cpuMs: number;
  /** Distinct answers learned from instance 2, and their bytes. */
  answers: number;
  bytes: number;
  error?: string;
}

const entryFor = (run: number, k: number) => (run * 7919 + k * 104_729) % size;

async function writeChunk(dir: Directory, run: number, from: number, count: number): Promise<string> {
  const writers = [new LdapWriter(dir.a), new LdapWriter(dir.b)] as const;
  for (let k = from; k < from + count; k++) {
    // Alternately on A and B, so positions hold a CSN of each serverID.
    writers[k % 2]!.replace(personDn(entryFor(run, k)), ATTRIBUTE, () => `run ${run} change ${k}`);
  }
  return (await Promise.all(writers.map((w) => w.close()))).filter(Boolean).join('\n');
}

async function startInstances(
  dir: Directory,
  storeDirs: string[],
  profileFile: string | undefined,
): Promise<[Instance, Instance]> {
  const config = (slapd: Directory['a'], storeDir: string) => ({
    url: slapd.url,
    bindDN: slapd.readerDN,
    base: BASE,
    secret,
    storeDir,
  });
  const one = startInstance(config(dir.a, storeDirs[0]!), dir.a.readerPassword);
  // startInstance spawns before its first await, with process.env: set the profiler's
  // variables for that one spawn.
  const extra = profileFile ? profiledEnv(profileFile) : {};
  const saved = Object.fromEntries(Object.keys(extra).map((k) => [k, process.env[k]]));
  Object.assign(process.env, extra);
  const two = startInstance(config(dir.b, storeDirs[1]!), dir.b.readerPassword);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return Promise.all([one, two]);
}

async function failoverRun(dir: Directory, run: number): Promise<FailoverRun> {
  const storeDirs = await Promise.all([1, 2].map(() => mkdtemp(join(tmpdir(), 'syncrepl-rx-failover-'))));
  let instances: Instance[] = [];
  const subs = new Subscribers(processes);
  const profileFile = args.profile
    ? join(BENCH_DIR, 'results', 'profiles', `failover-${date.replace(/[:.]/g, '-')}-run${run}.cpuprofile`)
    : undefined;
  if (profileFile) await mkdir(dirname(profileFile), { recursive: true });
  try {
    instances = await startInstances(dir, storeDirs, profileFile);
    const [i1, i2] = instances as [Instance, Instance];
    await Promise.all(
      [i1, i2].map((i, n) =>
        untilReady(i.base, 60_000).catch((err: Error) => {
          throw new Error(`instance ${n + 1}: ${err.message}; its stderr: ${i.stderr().slice(-1000)}`);
        }),
      ),
    );
    const pid2 = pidListeningOn(i2.port);
    if (pid2 === undefined) throw new Error(`no process of ours listens on port ${i2.port}`);

    const opened = await subs.open(`${i1.base}/people?subscribe=1`, subscribers, concurrency, groups);
    log(
      `  ${fmt(opened.ready)} of ${fmt(subscribers)} subscribers have the replay (${fmt(size)} entries) and ready ` +
        `from instance 1 in ${fmt(opened.ms / 1000, 1)} s (${fmt(opened.failed)} failed)`,
    );

    // Changes in groups - 1 chunks; group g stops listening before chunk g + 1.
    const logged = await metric(i2.base, 'syncrepl_rx_changelog_last_seq');
    const frozen: number[] = [];
    let written = 0;
    let undelivered = 0;
    for (let g = 0; g < groups; g++) {
      if (g === groups - 1) break; // the last group listens until the kill
      frozen.push(await subs.freeze(g));
      const count = Math.floor(changes / (groups - 1)) + (g < changes % (groups - 1) ? 1 : 0);
      const errors = await writeChunk(dir, run, written, count);
      if (errors) log(`  ldapmodify: ${errors.slice(-400)}`);
      written += count;
      if (!(await subs.delivered(written, 30_000))) {
        const p = await subs.progress();
        undelivered = Math.max(undelivered, written - p.minModifies);
      }
    }
    // Instance 2 must hold every change before the failover (it would wait for them otherwise).
    const deadline = performance.now() + 60_000;
    while ((await metric(i2.base, 'syncrepl_rx_changelog_last_seq')) < logged + written) {
      if (performance.now() > deadline) throw new Error('instance 2 did not log the changes within 60 s');
      await delay(50);
    }
    await dir.converged(30_000);
    const droppedBeforeKill = (await subs.progress()).dropped;

    const ids = await subs.ids();
    const positions = ids.map(positionOf);
    const distinctPositions = new Set(positions.filter((p) => p !== undefined)).size;
    const idsWithoutPosition = positions.filter((p) => p === undefined).length;

    // The window: from just before the kill until every subscriber settled on instance 2.
    const outcomesBefore = await resumeOutcomes(i2.base);
    const probeCost = await searchProbeCost(dir.b);
    await delay(200); // let the metrics request settle before the CPU reading
    const searchesBefore = await searchesInitiated(dir.b);
    const before = readProc(pid2)!;
    const machineFrom = readMachine();
    const tcpFrom = tcpCounters();
    if (profileFile) process.kill(pid2, 'SIGUSR2'); // starts the profiler (profile-preload.mjs)
    await i1.kill();
    const reconnected = await subs.reconnect(`${i2.base}/people?subscribe=1`, 60_000);
    const after = readProc(pid2)!;
    const profiled = profileFile ? await stopProfile(pid2, profileFile) : false;
    const machineTo = readMachine();
    const tcpTo = tcpCounters();
    const searchesAfter = await searchesInitiated(dir.b);
    const outcomesAfter = await resumeOutcomes(i2.base);
    const serverOutcomes: Record<string, number> = {};
    for (const [k, v] of Object.entries(outcomesAfter)) {
      const d = v - (outcomesBefore[k] ?? 0);
      if (d !== 0) serverOutcomes[k] = d;
    }
    const readyMs = [...reconnected.readyMs].filter(Number.isFinite);
    const catchUp = [...reconnected.entriesBeforeReady].filter(Number.isFinite);
    const connectMs = [...reconnected.connectMs];
    // A subscriber that had k changes live missed changes k.. written - 1: the entries they touched.
    const missedEntries = (k: number) => {
      const touched = new Set<number>();
      for (let j = k; j < written; j++) touched.add(entryFor(run, j));
      return touched.size;
    };
    let exactCatchUps = 0;
    let extraEvents = 0;
    let missingEvents = 0;
    reconnected.entriesBeforeReady.forEach((got, i) => {
      if (!Number.isFinite(got)) return;
      const expected = missedEntries(reconnected.modifiesBefore[i]!);
      if (got === expected) exactCatchUps++;
      extraEvents += Math.max(0, got - expected);
      missingEvents += Math.max(0, expected - got);
    });
    const floor = profileFile ? undefined : await floorRun(subs, `${i2.base}/people?subscribe=1`, ids);
    const connectedToReady = [...reconnected.readyMs]
      .map((ms, i) => ms - connectMs[i]!)
      .filter(Number.isFinite);
    return {
      opened,
      droppedBeforeKill,
      undelivered,
      frozen,
      distinctPositions,
      idsWithoutPosition,
      resumed: reconnected.resumed,
      reset: reconnected.reset,
      failed: reconnected.failed,
      statuses: reconnected.statuses,
      readyP50Ms: percentile(readyMs, 50),
      readyP99Ms: percentile(readyMs, 99),
      readyMaxMs: percentile(readyMs, 100),
      slowConnects: connectMs.filter((ms) => ms >= 1000).length,
      connectedToReadyP99Ms: percentile(connectedToReady, 99),
      listenOverflows: tcpTo.listenOverflows - tcpFrom.listenOverflows,
      catchUpP50: percentile(catchUp, 50),
      catchUpMax: percentile(catchUp, 100),
      exactCatchUps,
      extraEvents,
      missingEvents,
      // The second read counts itself; probeCost is what one read adds.
      ldapSearches: searchesAfter - searchesBefore - probeCost,
      probeCost,
      cpuMs: (after.cpuS - before.cpuS) * 1000,
      windowMs: after.at - before.at,
      rssBeforeMB: before.rssMB,
      peakRssMB: after.hwmMB,
      serverOutcomes,
      machineBusy: (machineTo.busy - machineFrom.busy) / (machineTo.total - machineFrom.total),
      stderr: i2.stderr().trim().split('\n').slice(-5).join('\n'),
      ...(profiled ? { profile: windowProfile(profileFile!) } : {}),
      ...(floor ? { floor } : {}),
    };
  } finally {
    await subs.close();
    await Promise.all(instances.map((i) => (i.running ? i.stop() : undefined)));
    await Promise.all(storeDirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

/**
 * The floor, in the same run: a bare node:http server learns what instance 2 answered each
 * distinct id, then every subscriber reconnects to it with the id it had at the failover.
 */
async function floorRun(subs: Subscribers, instance2: string, ids: string[]): Promise<FloorRun> {
  const floor = new Floor();
  try {
    const learned = await floor.learn(
      instance2,
      ids.filter((id) => id !== ''),
    );
    const url = await floor.listen();
    await delay(200);
    const before = readProc(floor.pid)!;
    const r = await subs.reconnect(url, 60_000, true);
    const after = readProc(floor.pid)!;
    const readyMs = [...r.readyMs].filter(Number.isFinite);
    return {
      resumed: r.resumed,
      failed: r.failed,
      readyP50Ms: percentile(readyMs, 50),
      readyP99Ms: percentile(readyMs, 99),
      cpuMs: (after.cpuS - before.cpuS) * 1000,
      answers: learned.answers,
      bytes: learned.bytes,
      ...(learned.error ? { error: learned.error } : {}),
    };
  } finally {
    await floor.close();
  }
}

// ------------------------------------------------------------------------------------------------
// 5. a syncrepl() consumer with url: [A, B]: kill -9 of A

interface ConsumerRun {
  unavailable?: string;
  /** kill → the first status other than persisting (the consumer saw the connection go). */
  detectMs: number;
  /** kill → the first `persisting` after it (on B: A is dead). */
  persistingMs: number;
  /** kill → the change written on B right after the kill arrives. */
  changeMs: number;
  /** kill → ldapmodify on B returned (the write itself, a process spawn included). */
  writtenMs: number;
  /** Messages other than the marker between the kill and the marker (what B sent again), by type. */
  resent: number;
  resentKinds: string[];
  statesAfterKill: string[];
  urlAfter?: string;
  error?: string;
}

const ONE_PROVIDER = 'needs two providers (one slapd)';
const NOT_MEASURED = {
  detectMs: NaN,
  persistingMs: NaN,
  changeMs: NaN,
  writtenMs: NaN,
  resent: NaN,
  resentKinds: [],
  statesAfterKill: [],
};

function resentBetween(events: ConsumerEvent[], from: number, to: number) {
  const kinds = events.flatMap((e) => (e.type === 'message' && e.at >= from && e.at <= to ? [e.kind] : []));
  return { resent: kinds.length, resentKinds: [...new Set(kinds)] };
}

async function consumerRun(dir: Directory, run: number): Promise<ConsumerRun> {
  if (dir.kind !== 'mirror') return { ...NOT_MEASURED, unavailable: ONE_PROVIDER };
  const marker = `failover-${run}-`;
  const consumer = new Consumer({
    urls: [dir.a.url, dir.b.url],
    bindDN: dir.a.readerDN,
    password: dir.a.readerPassword,
    base: BASE,
    filter: '(objectClass=inetOrgPerson)',
    attribute: ATTRIBUTE,
    marker,
  });
  let killed = false;
  try {
    const started = await consumer.started;
    if ('unsupported' in started) return { ...NOT_MEASURED, unavailable: started.unsupported };
    await delay(300);
    const tKill = wallNow();
    await dir.a.stop('SIGKILL');
    killed = true;
    await dir.b.modify(
      `dn: ${personDn(entryFor(run, changes + 1))}\nchangetype: modify\nreplace: ${ATTRIBUTE}\n${ATTRIBUTE}: ${marker}${Math.round(tKill)}\n-\n`,
    );
    const writtenMs = wallNow() - tKill;
    const after = (e: ConsumerEvent) => 'at' in e && e.at >= tKill;
    const changed = await consumer.until((e) => e.type === 'marker' && after(e), 30_000);
    const persisting = await consumer.until(
      (e) => e.type === 'status' && e.state === 'persisting' && after(e),
      5_000,
    );
    const detected = consumer.events.find((e) => e.type === 'status' && e.state !== 'persisting' && after(e));
    const until = changed && 'at' in changed ? changed.at : Infinity;
    const statesAfterKill = consumer.events
      .filter((e): e is Extract<ConsumerEvent, { type: 'status' }> => e.type === 'status' && after(e))
      .map((e) => e.state);
    const urlAfter =
      persisting?.type === 'status' && persisting.url !== undefined ? persisting.url : undefined;
    const error = consumer.events.find((e) => e.type === 'error');
    return {
      detectMs: detected && 'at' in detected ? detected.at - tKill : NaN,
      persistingMs: persisting && 'at' in persisting ? persisting.at - tKill : NaN,
      changeMs: changed && 'at' in changed ? changed.at - tKill : NaN,
      writtenMs,
      ...resentBetween(consumer.events, tKill, until),
      statesAfterKill,
      ...(urlAfter ? { urlAfter } : {}),
      ...(error?.type === 'error' ? { error: error.message } : {}),
    };
  } finally {
    await consumer.close();
    if (killed) {
      await dir.a.start();
      await dir.converged(60_000);
    }
  }
}

// ------------------------------------------------------------------------------------------------
// run and print

log(`starting the directory with ${fmt(size)} people...`);
const dirStarted = performance.now();
const dir = await startDirectory(peopleLdif(size, BASE), SESSIONLOG, args.topology, log);
log(`  ${dir.description} (${fmt((performance.now() - dirStarted) / 1000, 1)} s)`);
const failovers: FailoverRun[] = [];
const consumers: ConsumerRun[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    log(`run ${run}: ${fmt(subscribers)} subscribers, ${fmt(changes)} changes, ${groups} groups`);
    const f = await failoverRun(dir, run);
    failovers.push(f);
    log(
      `  after kill -9 of instance 1: ${fmt(f.resumed)} resumed, ${fmt(f.reset)} reset, ${fmt(f.failed)} failed ` +
        `on instance 2; ready p50 ${fmt(f.readyP50Ms)} ms, p99 ${fmt(f.readyP99Ms)} ms; ${fmt(f.ldapSearches)} LDAP searches ` +
        `for ${fmt(f.distinctPositions)} positions; ${fmt(f.cpuMs)} ms CPU, peak RSS ${fmt(f.peakRssMB)} MB`,
    );
    if (f.reset + f.failed > 0 && f.stderr) log(`  instance 2 stderr: ${f.stderr}`);
    const c = await consumerRun(dir, run);
    consumers.push(c);
    log(
      c.unavailable
        ? `  consumer failover: not measured (${c.unavailable})`
        : `  consumer failover: noticed ${fmt(c.detectMs)} ms, persisting on B ${fmt(c.persistingMs)} ms, ` +
            `change from B ${fmt(c.changeMs)} ms after the kill (${c.statesAfterKill.join(' → ')})`,
    );
  }
} finally {
  await dir.close();
}

const loadAtEnd = loadavg()[0] ?? NaN;
const cell = (xs: number[], digits = 0) => [...xs.map((x) => fmt(x, digits)), fmt(median(xs), digits)];
const pick = <T>(key: (r: T) => number, rows: T[], digits = 0) => cell(rows.map(key), digits);
const all = (f: FailoverRun) => f.resumed + f.reset + f.failed;
const consumerUnavailable = consumers.find((c) => c.unavailable)?.unavailable;
const consumerNote =
  consumerUnavailable === undefined
    ? ''
    : consumerUnavailable === ONE_PROVIDER
      ? ONE_PROVIDER
      : 'not available yet';

/** A, B, or the URL the consumer's status named (compared by port: the host may be spelled otherwise). */
const providerName = (url: string | undefined) => {
  const port = url === undefined ? undefined : /:(\d+)\/?$/.exec(url)?.[1];
  if (port === undefined) return url === undefined ? '(no url in the status)' : url;
  return port === String(dir.a.port) ? 'A' : port === String(dir.b.port) ? 'B' : url;
};
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
const allResumed = failovers.every((f) => f.reset === 0 && f.failed === 0 && f.resumed === subscribers);
const p99 = median(failovers.map((f) => f.readyP99Ms));
const searchesOk = failovers.every((f) => f.ldapSearches <= f.distinctPositions);

const fmtRatio = (r: number) => (Number.isFinite(r) ? `${fmt(r, 2)}×` : '—');
const ratio = (ours: number, floor: number | undefined) => fmtRatio(ours / (floor ?? NaN));
const floorNote = failovers.every((f) => f.floor)
  ? `- floor: ${failovers.map((f) => `${fmt(f.floor!.resumed)} ready, ${fmt(f.floor!.failed)} failed, ${fmt(f.floor!.answers)} answers of ${fmt(f.floor!.bytes / 1024)} KB learned${f.floor!.error ? ` (${f.floor!.error})` : ''}`).join('; ')}`
  : '- floor: not measured in profiled runs';
const rows: string[][] = [
  [
    'subscribers with replay + ready on instance 1',
    ...cell(failovers.map((f) => f.opened.ready)),
    `${fmt(subscribers)}`,
  ],
  ['distinct positions among their last ids', ...pick((f) => f.distinctPositions, failovers), ''],
  [
    'resumed on instance 2 (ready, no reset)',
    ...pick((f) => f.resumed, failovers),
    `all: ${met(allResumed)}`,
  ],
  ['reset (event: reset, then a replay)', ...pick((f) => f.reset, failovers), '0'],
  ['failed (no ready within 60 s)', ...pick((f) => f.failed, failovers), '0'],
  ['reconnect → ready p50 ms', ...pick((f) => f.readyP50Ms, failovers), ''],
  [
    'reconnect → ready p99 ms',
    ...pick((f) => f.readyP99Ms, failovers),
    `≤ ${TARGETS.readyP99Ms}: ${met(p99 <= TARGETS.readyP99Ms)}`,
  ],
  ['reconnect → ready max ms', ...pick((f) => f.readyMaxMs, failovers), ''],
  ['floor (bare node:http, same bytes): p50 ms', ...pick((f) => f.floor?.readyP50Ms ?? NaN, failovers), ''],
  ['floor: p99 ms', ...pick((f) => f.floor?.readyP99Ms ?? NaN, failovers), ''],
  [
    'p99 ratio instance 2 / floor',
    ...failovers.map((f) => ratio(f.readyP99Ms, f.floor?.readyP99Ms)),
    fmtRatio(median(failovers.map((f) => f.readyP99Ms / (f.floor?.readyP99Ms ?? NaN)))),
    '',
  ],
  ['TCP connect ≥ 1 s (SYN sent again)', ...pick((f) => f.slowConnects, failovers), ''],
  ['listen queue overflows (machine, TcpExt)', ...pick((f) => f.listenOverflows, failovers), ''],
  ['connected → ready p99 ms', ...pick((f) => f.connectedToReadyP99Ms, failovers), ''],
  [
    'entry events before ready, p50 / max',
    ...failovers.map((f) => `${fmt(f.catchUpP50)} / ${fmt(f.catchUpMax)}`),
    `${fmt(median(failovers.map((f) => f.catchUpP50)))} / ${fmt(median(failovers.map((f) => f.catchUpMax)))}`,
    '',
  ],
  [
    'resumes with exactly the missed entries',
    ...pick((f) => f.exactCatchUps, failovers),
    `all: ${met(failovers.every((f) => f.exactCatchUps === f.resumed && f.resumed === subscribers))}`,
  ],
  [
    'entry events extra / missing (all subscribers)',
    ...failovers.map((f) => `${fmt(f.extraEvents)} / ${fmt(f.missingEvents)}`),
    `${fmt(median(failovers.map((f) => f.extraEvents)))} / ${fmt(median(failovers.map((f) => f.missingEvents)))}`,
    '0 / 0',
  ],
  [
    'LDAP searches opened on B in the window',
    ...pick((f) => f.ldapSearches, failovers),
    `≤ positions: ${met(searchesOk)}`,
  ],
  ['instance 2 CPU ms (user + sys) in the window', ...pick((f) => f.cpuMs, failovers), ''],
  ['floor CPU ms (user + sys), same reconnects', ...pick((f) => f.floor?.cpuMs ?? NaN, failovers), ''],
  ['window ms (kill → last subscriber settled)', ...pick((f) => f.windowMs, failovers), ''],
  ['instance 2 RSS before MB', ...pick((f) => f.rssBeforeMB, failovers), ''],
  ['instance 2 peak RSS MB (VmHWM)', ...pick((f) => f.peakRssMB, failovers), ''],
  ['machine busy in the window %', ...pick((f) => f.machineBusy * 100, failovers), ''],
  [
    'consumer url: [A, B]: kill A → leaves persisting ms',
    ...pick((c) => c.detectMs, consumers),
    consumerNote,
  ],
  ['consumer: kill A → persisting on B ms', ...pick((c) => c.persistingMs, consumers), consumerNote],
  ['consumer: kill A → ldapmodify on B returned ms', ...pick((c) => c.writtenMs, consumers), consumerNote],
  ['consumer: kill A → change written on B arrives ms', ...pick((c) => c.changeMs, consumers), consumerNote],
];
// A row of the whole table has runs + median + target cells after the label.
for (const r of rows) while (r.length < runs + 3) r.splice(r.length - 1, 0, '');

const out: string[] = [
  '',
  '## failover: SSE subscribers move to another instance after kill -9; a consumer moves to the next provider',
  '',
  `${date} · ${machine.cpu} × ${machine.cores} cores, ${machine.memoryGB} GB · Linux ${machine.kernel} · Node ${machine.node}`,
  `${machine.slapd} · ${dir.description}; syncprov session log ${fmt(SESSIONLOG)}`,
  `${fmt(subscribers)} subscribers in ${processes} processes on /people (${fmt(size)} people), ${fmt(changes)} changes ` +
    `alternately on A and B in ${groups - 1} chunks, ${groups} groups of subscribers stopping between them; ${runs} runs`,
  '',
  markdownTable(
    ['figure', ...failovers.map((_, i) => `run ${i + 1}`), 'median', 'target'],
    rows,
    `l${'r'.repeat(runs + 1)}l`,
  ),
  '',
  `- all resumed: ${met(allResumed)} (${failovers.map((f) => `${fmt(f.resumed)}/${fmt(all(f))}`).join(', ')})`,
  `- p99 reconnect → ready ≤ ${TARGETS.readyP99Ms} ms: ${met(p99 <= TARGETS.readyP99Ms)} (median of the runs' p99: ${fmt(p99)} ms)`,
  floorNote,
  `- LDAP searches ≤ distinct positions: ${met(searchesOk)} (${failovers.map((f) => `${fmt(f.ldapSearches)} ≤ ${fmt(f.distinctPositions)}`).join(', ')})`,
  consumerUnavailable
    ? `- consumer with url: [A, B]: ${consumerNote === ONE_PROVIDER ? ONE_PROVIDER : `not available yet (syncrepl() refused the list: ${consumerUnavailable})`}`
    : `- consumer with url: [A, B]: states after the kill: ${consumers.map((c) => c.statesAfterKill.join(' → ')).join('; ')}` +
      `; persisting on ${consumers.map((c) => providerName(c.urlAfter)).join(', ')}` +
      `; messages B sent before the change: ${consumers.map((c) => `${fmt(c.resent)}${c.resentKinds.length ? ` (${c.resentKinds.join(', ')})` : ''}`).join(', ')}` +
      (consumers.some((c) => c.error) ? `; errors: ${consumers.map((c) => c.error ?? '-').join('; ')}` : ''),
  `- server's own count on instance 2 (syncrepl_rx_resumes_total): ${failovers.map((f) => JSON.stringify(f.serverOutcomes)).join(', ')}`,
  `- HTTP statuses of the reconnects: ${failovers.map((f) => JSON.stringify(f.statuses)).join(', ')}; ids without a position: ${failovers.map((f) => fmt(f.idsWithoutPosition)).join(', ')}`,
  `- before the kill: subscribers cut off by instance 1 ${failovers.map((f) => fmt(f.droppedBeforeKill)).join(', ')}; ` +
    `changes not delivered within 30 s ${failovers.map((f) => fmt(f.undelivered)).join(', ')}; ` +
    `one cn=Monitor read costs ${fmt(failovers[0]?.probeCost ?? NaN)} search (subtracted)`,
  `1-minute load average: ${fmt(loadAtStart, 1)} at the start, ${fmt(loadAtEnd, 1)} at the end` +
    (Math.max(loadAtStart, loadAtEnd) > cpus().length / 2
      ? ' (the subscriber processes and slapd share the machine with the instance)'
      : ''),
  '',
];
for (const [i, f] of failovers.entries()) {
  if (f.profile) out.push(profileTables(`instance 2 in the reconnect window of run ${i + 1}`, f.profile), '');
}
console.log(out.join('\n'));
const file = await writeResults(join(BENCH_DIR, 'results'), 'failover', {
  benchmark: 'failover',
  date,
  machine,
  options: { subscribers, size, changes, runs, groups, processes, concurrency, topology: dir.kind },
  targets: TARGETS,
  failovers,
  consumers,
  output: out.join('\n'),
});
log(`results: ${file.slice(REPO_ROOT.length + 1)}`);
process.exit(0);

function profileTables(what: string, { file, summary: p, inclusive }: WindowProfile): string {
  return [
    `### CPU profile: ${what}`,
    '',
    `${fmt(p.totalMs)} ms profiled: idle ${fmt(p.idleMs)} ms, GC ${fmt(p.gcMs)} ms · ${file}`,
    '',
    markdownTable(
      ['#', 'function', 'location', 'self ms', 'self % of busy'],
      p.hotSpots.map((h, i) => [
        String(i + 1),
        h.functionName,
        h.location,
        fmt(h.selfMs),
        `${fmt(h.selfPercent, 1)}%`,
      ]),
      'rllrr',
    ),
    '',
    'Inclusive (with callees), the server, core and the HTTP path:',
    '',
    markdownTable(
      ['#', 'function', 'location', 'total ms', '% of busy'],
      inclusive.map((h, i) => [
        String(i + 1),
        h.functionName,
        h.location,
        fmt(h.totalMs),
        `${fmt(h.totalPercent, 1)}%`,
      ]),
      'rllrr',
    ),
  ].join('\n');
}
