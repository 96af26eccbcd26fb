/**
 * The moving parts of bench/fanout.ts, each in a process of its own:
 *
 *   ldapmodify -c (stdin pipe) ─► slapd ─┬─► server child (SubMan, fanout/server.ts) ─► subscriber
 *     one write = one pipe write         │     RSS + CPU read from /proc/PID               generators
 *                                        ├─► ldapsearch -E sync=rp   (peer: OpenLDAP's own client)
 *                                        └─► syncrepl() child        (floor: our core alone)
 *
 * Every wait is bounded, every child is killed on the way out, and nothing listens beyond loopback.
 * Passwords travel over IPC or in 0600 files for `-y`, never in an argv or the environment.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Slapd } from '../../test/fixtures/slapd.js';
import { BENCH_DIR, REPO_ROOT } from '../lib/directory.js';

export const FANOUT_DIR = join(BENCH_DIR, 'fanout');

/** Wall-clock ms with sub-ms resolution; the children use the same clock (sse-reader.mjs). */
export const wallNow = (): number => performance.timeOrigin + performance.now();

/** Children get no loader options of the parent's tsx (it sets NODE_OPTIONS). */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  return env;
}

/** Resolves with the first IPC message that satisfies `accept`; rejects after `ms` or on exit. */
export function nextMessage<T>(
  child: ChildProcess,
  accept: (m: Record<string, unknown>) => boolean,
  ms: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`${what}: no answer within ${ms} ms`)), ms);
    const onMessage = (m: Record<string, unknown>) => {
      if (m.type === 'error') done(new Error(`${what}: ${String(m.message)}`));
      else if (accept(m)) done(undefined, m as T);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      done(new Error(`${what}: the process exited (${code ?? signal})`));
    const done = (err?: Error, value?: T) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(value as T);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

/** Waits for a child to exit, SIGKILLing it after `ms`. */
export async function ended(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

// ---------------------------------------------------------------------------------------------
// /proc: the server's resident set and CPU time, read from outside so the server does no work for it

const CLOCK_TICKS = 100; // USER_HZ on Linux

export interface ProcReading {
  at: number;
  /** utime + stime, in seconds. */
  cpuS: number;
  rssMB: number;
  /** Peak resident set so far (VmHWM). */
  hwmMB: number;
}

export function readProc(pid: number): ProcReading | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of stat(5)
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { at: wallNow(), cpuS: ticks / CLOCK_TICKS, rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

/** Jiffies of the whole machine (first line of /proc/stat): busy (incl. steal) and total. */
export function readMachine(): { busy: number; steal: number; total: number } {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // cpu user nice system idle iowait irq softirq steal ...
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number);
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    return { busy, steal: steal!, total: busy + idle! + iowait! };
  } catch {
    return { busy: NaN, steal: NaN, total: NaN };
  }
}

/** The soft limit on open files of a process (from /proc/PID/limits). */
export function openFilesLimit(pid: number): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'));
    return m?.[1] === 'unlimited' ? Infinity : Number(m?.[1] ?? NaN);
  } catch {
    return NaN;
  }
}

/** Samples a process every `everyMs` while running; `window()` summarises from a mark to now. */
export class ProcSampler {
  private readonly readings: ProcReading[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly pid: number,
    everyMs = 200,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): ProcReading | undefined {
    const r = readProc(this.pid);
    // Bounded: at 5 readings a second, an hour of readings.
    if (r && this.readings.length < 18_000) this.readings.push(r);
    return r;
  }

  /** CPU share (1 = one core) and the largest RSS between two readings. */
  window(from: ProcReading, to: ProcReading): { cpuShare: number; cpuS: number; maxRssMB: number } {
    const inside = this.readings.filter((r) => r.at >= from.at && r.at <= to.at);
    return {
      cpuS: to.cpuS - from.cpuS,
      cpuShare: (to.cpuS - from.cpuS) / ((to.at - from.at) / 1000),
      maxRssMB: Math.max(from.rssMB, to.rssMB, ...inside.map((r) => r.rssMB)),
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

// ---------------------------------------------------------------------------------------------
// the server under test

export interface ServerChild {
  child: ChildProcess;
  pid: number;
  base: string;
  startMs: number;
  entries: number;
  profile(action: 'start'): Promise<void>;
  profile(action: 'stop', file: string): Promise<void>;
  stop(): Promise<void>;
}

export async function startServer(slapd: Slapd, timeoutMs = 180_000): Promise<ServerChild> {
  const child = fork(join(FANOUT_DIR, 'server.ts'), [], {
    cwd: BENCH_DIR,
    execArgv: ['--import', 'tsx'],
    env: childEnv(),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  });
  try {
    const ready = nextMessage<{ port: number; startMs: number; entries: number }>(
      child,
      (m) => m.type === 'ready',
      timeoutMs,
      'server child',
    );
    child.send({ type: 'start', url: slapd.url, bindDN: slapd.readerDN, password: slapd.readerPassword });
    const { port, startMs, entries } = await ready;
    return {
      child,
      pid: child.pid!,
      base: `http://127.0.0.1:${port}`,
      startMs,
      entries,
      async profile(action: 'start' | 'stop', file?: string) {
        const answer = nextMessage(
          child,
          (m) => m.type === (action === 'start' ? 'profiling' : 'profiled'),
          60_000,
          'server profile',
        );
        child.send({ type: 'profile', action, file });
        await answer;
      },
      async stop() {
        if (child.connected) child.send({ type: 'stop' });
        await ended(child, 15_000);
      },
    } as ServerChild;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
}

/** A Prometheus gauge of the server (e.g. syncrepl_rx_changelog_last_seq), NaN when absent. */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return Number(m?.[1] ?? NaN);
}

// ---------------------------------------------------------------------------------------------
// writes: one long-lived ldapmodify reading LDIF from a pipe, so one write is one pipe write

export class LdapWriter {
  private readonly child: ChildProcess;
  private errors = '';

  constructor(slapd: Slapd) {
    // -c: a failed record does not stop the stream; failures show up on stderr and are reported.
    this.child = spawn(
      'ldapmodify',
      ['-c', '-x', '-H', slapd.url, '-D', slapd.rootDN, '-y', slapd.rootPasswordFile],
      { env: slapd.ldapEnv, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    this.child.stderr!.on('data', (b: Buffer) => {
      this.errors = (this.errors + b.toString('utf8')).slice(-4000);
    });
    this.child.stdin!.on('error', () => undefined);
  }

  /** Replaces one attribute value; returns the wall-clock time of the pipe write. */
  replace(dn: string, attribute: string, value: (writtenAt: number) => string): number {
    const at = wallNow();
    this.child.stdin!.write(
      `dn: ${dn}\nchangetype: modify\nreplace: ${attribute}\n${attribute}: ${value(at)}\n-\n\n`,
    );
    return at;
  }

  /** Ends the input and waits for ldapmodify to apply everything and exit. */
  async close(): Promise<string> {
    this.child.stdin!.end();
    await ended(this.child, 60_000);
    return this.errors.trim();
  }
}

// ---------------------------------------------------------------------------------------------
// peers on the same writes: OpenLDAP's ldapsearch, and our syncrepl() alone

export interface View {
  base: string;
  scope: 'one' | 'sub';
  filter: string;
}

const STATUS_LINE = /^submanStatus: m(\d+)-(\d+(?:\.\d+)?)$/;

/**
 * `ldapsearch -E sync=rp` under `stdbuf -oL` (ldapsearch's stdout is a pipe here and would be
 * block-buffered otherwise), with each chunk of its output timestamped on arrival.
 */
export class LdapsearchPeer {
  readonly latencies = new Map<number, number>();
  private readonly child: ChildProcess;
  readonly live: Promise<void>;

  constructor(slapd: Slapd, view: View) {
    this.child = spawn(
      'stdbuf',
      [
        '-oL',
        'ldapsearch',
        '-x',
        '-H',
        slapd.url,
        '-D',
        slapd.readerDN,
        '-y',
        slapd.readerPasswordFile,
        '-o',
        'ldif-wrap=no',
        '-b',
        view.base,
        '-s',
        view.scope,
        '-E',
        'sync=rp',
        view.filter,
        'submanStatus',
      ],
      { env: slapd.ldapEnv, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    let markLive: () => void = () => undefined;
    this.live = new Promise((resolve) => (markLive = resolve));
    let rest = '';
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (text: string) => {
      const at = wallNow();
      const lines = (rest + text).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const m = STATUS_LINE.exec(line);
        if (m) {
          if (this.latencies.size < 100_000) this.latencies.set(Number(m[1]), at - Number(m[2]));
        } else if (line.startsWith('# refresh done')) markLive();
      }
    });
  }

  async close(): Promise<void> {
    this.child.kill('SIGTERM');
    await ended(this.child, 5_000);
  }
}

export class ConsumerPeer {
  private readonly child: ChildProcess;
  readonly live: Promise<unknown>;

  constructor(slapd: Slapd, view: View) {
    this.child = fork(join(FANOUT_DIR, 'ldap-consumer.mjs'), [], {
      cwd: BENCH_DIR,
      execArgv: [],
      env: childEnv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.live = nextMessage(this.child, (m) => m.type === 'live', 60_000, 'syncrepl() peer');
    this.child.send({
      type: 'start',
      url: slapd.url,
      bindDN: slapd.readerDN,
      password: slapd.readerPassword,
      ...view,
      attributes: ['submanStatus'],
    });
  }

  async latencies(): Promise<Map<number, number>> {
    const answer = nextMessage<{ latencies: [number, number][] }>(
      this.child,
      (m) => m.type === 'report',
      10_000,
      'syncrepl() peer',
    );
    this.child.send({ type: 'report' });
    return new Map((await answer).latencies);
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'close' });
    await ended(this.child, 5_000);
  }
}

// ---------------------------------------------------------------------------------------------
// the subscribers: 1–N generator processes of raw node:http SSE clients

export interface GeneratorReport {
  latencies: Float64Array;
  markers: [number, number][];
  counts: Record<string, number>;
  failed: number;
  droppedAfterReady: number;
  open: number;
  bytes: number;
  cpuS: number;
  rssMB: number;
}

export interface Opened {
  ready: number;
  failed: number;
  requested: number;
  ms: number;
  readyMs: Float64Array;
}

export class Generators {
  private readonly children: ChildProcess[];

  constructor(count: number) {
    this.children = Array.from({ length: count }, () =>
      fork(join(FANOUT_DIR, 'subscribers.mjs'), [], {
        cwd: BENCH_DIR,
        execArgv: [],
        env: childEnv(),
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        serialization: 'advanced',
      }),
    );
  }

  get pids(): number[] {
    return this.children.map((c) => c.pid!);
  }

  /**
   * Opens `total` subscriptions spread evenly over the generators; resolves when all are ready.
   * With `lastEventId` they join by resuming from it (no replay).
   */
  async open(
    url: string,
    total: number,
    concurrency: number,
    lastEventId?: string,
    timeoutMs = 300_000,
  ): Promise<Opened[]> {
    const n = this.children.length;
    return Promise.all(
      this.children.map((child, i) => {
        const count = Math.floor(total / n) + (i < total % n ? 1 : 0);
        const answer = nextMessage<Opened>(child, (m) => m.type === 'opened', timeoutMs, 'generator');
        child.send({
          type: 'open',
          url,
          count,
          concurrency: Math.max(1, Math.ceil(concurrency / n)),
          lastEventId,
        });
        return answer;
      }),
    );
  }

  /** Marker events received so far, over all generators. */
  async deliveries(): Promise<number> {
    const answers = await Promise.all(
      this.children.map((child) => {
        const answer = nextMessage<{ deliveries: number }>(
          child,
          (m) => m.type === 'progress',
          30_000,
          'generator',
        );
        child.send({ type: 'progress' });
        return answer;
      }),
    );
    return answers.reduce((n, a) => n + a.deliveries, 0);
  }

  /** Forgets the latencies recorded so far (before a second, profiled stream of changes). */
  async resetMeasurements(): Promise<void> {
    await Promise.all(
      this.children.map((child) => {
        const answer = nextMessage(child, (m) => m.type === 'reset-done', 30_000, 'generator');
        child.send({ type: 'reset-measurements' });
        return answer;
      }),
    );
  }

  async report(): Promise<GeneratorReport[]> {
    return Promise.all(
      this.children.map((child) => {
        const answer = nextMessage<GeneratorReport>(child, (m) => m.type === 'report', 30_000, 'generator');
        child.send({ type: 'report' });
        return answer;
      }),
    );
  }

  async close(): Promise<void> {
    for (const child of this.children) if (child.connected) child.send({ type: 'close' });
    await Promise.all(this.children.map((c) => ended(c, 10_000)));
  }
}

// ---------------------------------------------------------------------------------------------
// one-shot SSE client in a fresh process (replay and resume)

export interface ClientReport {
  ms: number;
  entries: number;
  peakRssMB: number;
  before: Record<string, number>;
  after: Record<string, number>;
  readyId?: string;
}

export async function runClient(
  url: string,
  options: { lastEventId?: string; holdMs?: number; timeoutMs?: number } = {},
): Promise<ClientReport> {
  const args = [join(FANOUT_DIR, 'replay-client.mjs'), '--url', url];
  if (options.lastEventId !== undefined) args.push('--last-event-id', options.lastEventId);
  if (options.holdMs !== undefined) args.push('--hold-ms', String(options.holdMs));
  const child = spawn(process.execPath, args, { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString('utf8')).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  await ended(child, options.timeoutMs ?? 120_000);
  clearTimeout(timer);
  if (child.exitCode !== 0) throw new Error(`replay-client failed (${child.exitCode}): ${err.trim()}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as ClientReport;
}

// ---------------------------------------------------------------------------------------------
// statistics

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN for none. */
export function percentile(values: ArrayLike<number>, p: number): number {
  const xs = Float64Array.from(values).sort();
  if (xs.length === 0) return NaN;
  return xs[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))]!;
}

// ---------------------------------------------------------------------------------------------
// build freshness: the server child runs packages/*/dist (like the demo under tsx)

/** Source files of `pkg` newer than its last build (`tsc -b` rewrites tsbuildinfo when it builds). */
export function staleSources(pkg: string): string[] {
  const root = join(REPO_ROOT, 'packages', pkg);
  let built = 0;
  try {
    built = statSync(join(root, 'tsconfig.tsbuildinfo')).mtimeMs;
  } catch {
    return [`packages/${pkg}/dist (missing: run \`pnpm -s build\`)`];
  }
  const newer: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && statSync(path).mtimeMs > built) {
        newer.push(path.slice(REPO_ROOT.length + 1));
      }
    }
  };
  walk(join(root, 'src'));
  return newer;
}
