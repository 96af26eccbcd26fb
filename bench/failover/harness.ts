/**
 * The moving parts of bench/failover.ts:
 *
 *   provider A ◄─mirror─► provider B           (test/fixtures/topology.ts; one slapd without it)
 *       │                     │
 *   instance 1            instance 2            (test/fixtures/instances.ts: own process, own store)
 *       │ replay, live        ▲ Last-Event-ID, all at once after kill -9 of instance 1
 *       └──► subscriber processes (subscribers.mjs) ──┘
 *
 *   syncrepl({ url: [A, B], reconnect: true })  (consumer.mjs) ── kill -9 of A ──► B
 *
 * Every wait is bounded and every child is killed on the way out. Passwords travel over IPC or in
 * the fixture's 0600 files for `-y`, never in an argv.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { startSlapd, type Slapd } from '../../test/fixtures/slapd.js';
import {
  inclusiveProfile,
  readProfile,
  summarizeProfile,
  type InclusiveSpot,
  type ProfileSummary,
} from '../lib/cpuprofile.js';
import { BENCH_DIR, REPO_ROOT } from '../lib/directory.js';
import { childEnv, ended, nextMessage, wallNow } from '../fanout/harness.js';

export const FAILOVER_DIR = join(BENCH_DIR, 'failover');

// ---------------------------------------------------------------------------------------------
// the directory: two mirror-mode providers when the topology fixture is there, else one slapd

export interface Directory {
  kind: 'mirror' | 'single';
  /** One line for the output: what instance 1 and instance 2 follow. */
  description: string;
  /** Provider A: instance 1 follows it; the consumer starts on it. */
  a: Slapd;
  /** Provider B: instance 2 follows it (the same slapd as `a` without the topology fixture). */
  b: Slapd;
  /** Resolves when A and B hold the same contextCSN set (at once with one slapd). */
  converged(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** What bench/failover.ts uses of test/fixtures/topology.ts (loaded only when it exists). */
interface TopologyModule {
  startTopology(options: { ldif?: string; replica?: boolean; sessionlog?: number }): Promise<{
    a: Slapd;
    b: Slapd;
    converged(timeoutMs?: number): Promise<void>;
    close(): Promise<void>;
  }>;
}

export const TOPOLOGY_FIXTURE = join(REPO_ROOT, 'test', 'fixtures', 'topology.ts');

/**
 * Two mirror-mode providers (A serverID 1, B serverID 2; no read-only replica: nothing here reads
 * it) when `test/fixtures/topology.ts` is present, else one slapd for both instances. `why` says
 * why it fell back.
 */
export async function startDirectory(
  ldif: string,
  sessionlog: number,
  prefer: 'mirror' | 'single',
  log: (line: string) => void,
): Promise<Directory> {
  let why = 'asked for with --topology single';
  if (prefer === 'mirror') {
    if (!existsSync(TOPOLOGY_FIXTURE)) why = 'test/fixtures/topology.ts is not there';
    else {
      try {
        // A computed specifier: the fixture may not exist in every checkout, so no static import.
        const specifier = '../../test/fixtures/topology.js';
        const { startTopology } = (await import(specifier)) as TopologyModule;
        const t = await startTopology({ ldif, replica: false, sessionlog });
        await t.converged(60_000);
        return {
          kind: 'mirror',
          description:
            'two mirror-mode providers (test/fixtures/topology.ts): instance 1 follows A (serverID 1), instance 2 follows B (serverID 2)',
          a: t.a,
          b: t.b,
          converged: (ms) => t.converged(ms),
          close: () => t.close(),
        };
      } catch (err) {
        why = `the topology fixture failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
      }
    }
    log(`one slapd for both instances: ${why}`);
  }
  const slapd = await startSlapd({ ldif, sessionlog });
  return {
    kind: 'single',
    description: `one slapd for both instances (${why}): the changes "on A" and "on B" go to the same server`,
    a: slapd,
    b: slapd,
    converged: async () => undefined,
    close: () => slapd.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// slapd's cn=Monitor: searches initiated

/**
 * monitorOpInitiated of `cn=Search,cn=Operations,cn=Monitor`: every search slapd started since
 * its start, persistent ones included. Read as the database's rootDN (the fixture's monitor ACL
 * lets it read cn=Monitor); the read is itself one search, which {@link searchProbeCost} measures.
 */
export async function searchesInitiated(slapd: Slapd): Promise<number> {
  const r = await slapd.tool('ldapsearch', [
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-x',
    '-H',
    slapd.url,
    '-D',
    slapd.rootDN,
    '-y',
    slapd.rootPasswordFile,
    '-b',
    'cn=Search,cn=Operations,cn=Monitor',
    '-s',
    'base',
    '(objectClass=*)',
    'monitorOpInitiated',
  ]);
  const m = /^monitorOpInitiated: (\d+)$/m.exec(r.stdout);
  if (!m) throw new Error(`cn=Monitor gave no monitorOpInitiated: ${r.stdout.slice(0, 200)}`);
  return Number(m[1]);
}

/** How many searches one {@link searchesInitiated} adds (two reads back to back, nothing between). */
export async function searchProbeCost(slapd: Slapd): Promise<number> {
  const first = await searchesInitiated(slapd);
  return (await searchesInitiated(slapd)) - first;
}

// ---------------------------------------------------------------------------------------------
// the process behind an instance's port (the fixture does not expose its pid)

/** The pid of the child of this process that listens on 127.0.0.1:`port`, from /proc. */
export function pidListeningOn(port: number): number | undefined {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let inode: string | undefined;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st ... inode (field 9); st 0A = LISTEN
    if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A') inode = f[9];
  }
  if (inode === undefined) return undefined;
  const target = `socket:[${inode}]`;
  for (const pid of childPids(process.pid)) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) return pid;
      }
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

function childPids(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // no children file (old kernel): nothing found
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// an instance's HTTP side

/** Resolves once `GET /people` answers 200 (the source is ready); rejects after `ms`. */
export async function untilReady(base: string, ms = 120_000): Promise<void> {
  const deadline = performance.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`${base}/people`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`${base}/people did not answer 200 within ${ms} ms`);
    await delay(100);
  }
}

/** The server's `syncrepl_rx_resumes_total` by outcome (fresh, resumed, reset, rejected). */
export async function resumeOutcomes(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^syncrepl_rx_resumes_total\{([^}]*)\} (\S+)$/gm)) {
    const outcome = /outcome="([^"]*)"/.exec(m[1]!)?.[1];
    if (outcome) out[outcome] = (out[outcome] ?? 0) + Number(m[2]);
  }
  return out;
}

/**
 * Machine-wide TCP counters of /proc/net/netstat: `ListenOverflows` (a connection that found a
 * listen queue full: its SYN is dropped and retransmitted a second later) and `TCPSynRetrans`.
 */
export function tcpCounters(): { listenOverflows: number; synRetransmits: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    const at = lines.findIndex((l) => l.startsWith('TcpExt:'));
    const names = lines[at]!.split(/\s+/);
    const values = lines[at + 1]!.split(/\s+/).map(Number);
    const get = (name: string) => values[names.indexOf(name)] ?? NaN;
    return { listenOverflows: get('ListenOverflows'), synRetransmits: get('TCPSynRetrans') };
  } catch {
    return { listenOverflows: NaN, synRetransmits: NaN };
  }
}

/** The directory position (`pos`) a resume cookie carries: its base64url JSON payload before the '.'. */
export function positionOf(id: string): string | undefined {
  const dot = id.indexOf('.');
  if (dot <= 0) return undefined;
  try {
    const p = JSON.parse(Buffer.from(id.slice(0, dot), 'base64url').toString('utf8')) as { pos?: unknown };
    return typeof p.pos === 'string' ? p.pos : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// a profile of instance 2 in the reconnect window (profile-preload.mjs)

/** NODE_OPTIONS and environment that make a server instance profile between two SIGUSR2. */
export function profiledEnv(file: string): Record<string, string> {
  return {
    NODE_OPTIONS: `--import ${join(FAILOVER_DIR, 'profile-preload.mjs')}`,
    SYNCREPL_RX_FAILOVER_PROFILE: file,
  };
}

/** Sends the second SIGUSR2 and waits (bounded) until the profile is written. */
export async function stopProfile(pid: number, file: string): Promise<boolean> {
  process.kill(pid, 'SIGUSR2');
  const deadline = performance.now() + 30_000;
  while (!existsSync(`${file}.done`)) {
    if (performance.now() > deadline) return false;
    await delay(50);
  }
  return true;
}

export interface WindowProfile {
  file: string;
  summary: ProfileSummary;
  inclusive: InclusiveSpot[];
}

/** Self and inclusive time (our server code, the HTTP path) of a profile. */
export function windowProfile(file: string): WindowProfile {
  const profile = readProfile(file);
  const ours = (f: { functionName: string; location: string }) =>
    /(^|\/)packages\/(server|core)\/src\//.test(f.location) ||
    /^node:_http_(outgoing|server|incoming)/.test(f.location) ||
    f.functionName === 'writev' ||
    f.functionName === '(garbage collector)';
  return {
    file: file.slice(REPO_ROOT.length + 1),
    summary: summarizeProfile(profile, REPO_ROOT, 15),
    inclusive: inclusiveProfile(profile, REPO_ROOT, ours, 15),
  };
}

// ---------------------------------------------------------------------------------------------
// the subscriber processes

export interface Reconnected {
  t0: number;
  resumed: number;
  reset: number;
  failed: number;
  statuses: Record<string, number>;
  readyMs: Float64Array;
  connectMs: Float64Array;
  entriesBeforeReady: Float64Array;
  /** Per subscriber, the modify events it had received live from instance 1. */
  modifiesBefore: Float64Array;
  withoutId: number;
}

export class Subscribers {
  private readonly children: ChildProcess[];

  constructor(count: number) {
    this.children = Array.from({ length: count }, () =>
      fork(join(FAILOVER_DIR, 'subscribers.mjs'), [], {
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

  private ask<T>(message: (i: number) => object, answer: string, ms: number): Promise<T[]> {
    return Promise.all(
      this.children.map((child, i) => {
        const got = nextMessage<T>(child, (m) => m.type === answer, ms, 'subscriber process');
        child.send(message(i));
        return got;
      }),
    );
  }

  /** `total` subscriptions with a replay, spread over the processes; resolves when all settled. */
  async open(url: string, total: number, concurrency: number, groups: number) {
    const n = this.children.length;
    const answers = await this.ask<{ ready: number; failed: number; ms: number }>(
      (i) => ({
        type: 'open',
        url,
        count: Math.floor(total / n) + (i < total % n ? 1 : 0),
        concurrency: Math.max(1, Math.ceil(concurrency / n)),
        groups,
      }),
      'opened',
      200_000,
    );
    return {
      ready: answers.reduce((s, a) => s + a.ready, 0),
      failed: answers.reduce((s, a) => s + a.failed, 0),
      ms: Math.max(...answers.map((a) => a.ms)),
    };
  }

  /** Live subscribers, the fewest modify events any of them got, and streams the server dropped. */
  async progress() {
    const answers = await this.ask<{ live: number; minModifies: number; dropped: number }>(
      () => ({ type: 'progress' }),
      'progress',
      30_000,
    );
    const live = answers.filter((a) => a.live > 0);
    return {
      live: answers.reduce((s, a) => s + a.live, 0),
      minModifies: live.length === 0 ? 0 : Math.min(...live.map((a) => a.minModifies)),
      dropped: answers.reduce((s, a) => s + a.dropped, 0),
    };
  }

  /** Waits until every live subscriber has at least `modifies` modify events; false on timeout. */
  async delivered(modifies: number, ms: number): Promise<boolean> {
    const deadline = performance.now() + ms;
    for (;;) {
      if ((await this.progress()).minModifies >= modifies) return true;
      if (performance.now() > deadline) return false;
      await delay(20);
    }
  }

  async freeze(group: number): Promise<number> {
    const answers = await this.ask<{ count: number }>(() => ({ type: 'freeze', group }), 'frozen', 30_000);
    return answers.reduce((s, a) => s + a.count, 0);
  }

  async ids(): Promise<string[]> {
    return (await this.ask<{ ids: string[] }>(() => ({ type: 'ids' }), 'ids', 30_000)).flatMap((a) => a.ids);
  }

  /**
   * Every subscriber reconnects to `url` with its last id, all processes at once; `again`: with
   * the id it had at the first reconnect.
   */
  async reconnect(url: string, timeoutMs: number, again = false): Promise<Reconnected> {
    const answers = await this.ask<Reconnected>(
      () => ({ type: 'reconnect', url, timeoutMs, again }),
      'reconnected',
      timeoutMs + 30_000,
    );
    const t0 = Math.min(...answers.map((a) => a.t0));
    // One clock for all: a process that got the message later starts later.
    const shift = (a: Reconnected, xs: Float64Array) => xs.map((x) => x + (a.t0 - t0));
    return {
      t0,
      resumed: answers.reduce((s, a) => s + a.resumed, 0),
      reset: answers.reduce((s, a) => s + a.reset, 0),
      failed: answers.reduce((s, a) => s + a.failed, 0),
      statuses: answers.reduce<Record<string, number>>((all, a) => {
        for (const [k, v] of Object.entries(a.statuses)) all[k] = (all[k] ?? 0) + v;
        return all;
      }, {}),
      readyMs: concat(answers.map((a) => shift(a, a.readyMs))),
      connectMs: concat(answers.map((a) => shift(a, a.connectMs))),
      entriesBeforeReady: concat(answers.map((a) => a.entriesBeforeReady)),
      modifiesBefore: concat(answers.map((a) => a.modifiesBefore)),
      withoutId: answers.reduce((s, a) => s + a.withoutId, 0),
    };
  }

  async close(): Promise<void> {
    for (const child of this.children) if (child.connected) child.send({ type: 'close' });
    await Promise.all(this.children.map((c) => ended(c, 10_000)));
  }
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// the syncrepl() consumer with a URL list

export type ConsumerEvent =
  | { type: 'status'; state: string; at: number; url?: string }
  | { type: 'live'; at: number }
  | { type: 'marker'; value: string; at: number }
  | { type: 'message'; kind: string; at: number }
  | { type: 'error'; message: string }
  | { type: 'unsupported'; message: string };

export class Consumer {
  private readonly child: ChildProcess;
  readonly events: ConsumerEvent[] = [];
  /** Resolves with 'live', or with the reason the URL list was refused. */
  readonly started: Promise<{ live: true } | { unsupported: string }>;

  constructor(options: {
    urls: string[];
    bindDN: string;
    password: string;
    base: string;
    filter: string;
    attribute: string;
    marker: string;
  }) {
    // The core of this working tree, as the server instances run it (test/fixtures/instances.ts).
    this.child = spawn(
      process.execPath,
      ['--conditions=@syncrepl-rx/source', '--import', 'tsx', join(FAILOVER_DIR, 'consumer.mjs')],
      { cwd: BENCH_DIR, env: childEnv(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    this.child.on('message', (m: ConsumerEvent) => {
      if (this.events.length < 100_000) this.events.push(m);
    });
    this.started = nextMessage<ConsumerEvent>(
      this.child,
      (m) => m.type === 'live' || m.type === 'unsupported',
      60_000,
      'syncrepl() consumer',
    ).then((m) => (m.type === 'unsupported' ? { unsupported: m.message } : { live: true as const }));
    this.child.send({ type: 'start', ...options });
  }

  /** Resolves with the first event after `from` that `accept` takes; undefined after `ms`. */
  async until(accept: (e: ConsumerEvent) => boolean, ms: number): Promise<ConsumerEvent | undefined> {
    const deadline = performance.now() + ms;
    for (;;) {
      const found = this.events.find(accept);
      if (found) return found;
      if (performance.now() > deadline || this.child.exitCode !== null) return undefined;
      await delay(5);
    }
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'close' });
    await ended(this.child, 5_000);
  }
}

export { wallNow };

// ---------------------------------------------------------------------------------------------
// the floor: a bare node:http server answering the same bytes (floor.mjs)

export class Floor {
  private readonly child: ChildProcess;

  constructor() {
    this.child = fork(join(FAILOVER_DIR, 'floor.mjs'), [], {
      cwd: BENCH_DIR,
      execArgv: [],
      env: childEnv(),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask<T>(message: object, answer: string, ms: number): Promise<T> {
    const got = nextMessage<T & { type: string }>(this.child, (m) => m.type === answer, ms, 'floor process');
    this.child.send(message);
    return got;
  }

  /** Fetches, once per distinct id, what `url` answers a reconnect with that id. */
  learn(url: string, ids: string[]) {
    return this.ask<{ answers: number; bytes: number; error?: string }>(
      { type: 'learn', url, ids },
      'learned',
      120_000,
    );
  }

  async listen(): Promise<string> {
    const { port } = await this.ask<{ port: number }>({ type: 'listen' }, 'listening', 10_000);
    return `http://127.0.0.1:${port}/people?subscribe=1`;
  }

  async close(): Promise<void> {
    if (this.child.connected) this.child.send({ type: 'close' });
    await ended(this.child, 5_000);
  }
}
