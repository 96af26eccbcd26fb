/**
 * The measuring half of our benchmarks: run each contender as its own child process, time it from
 * the parent, read its peak RSS, interleave the runs, and print medians side by side.
 *
 *   contenders (data) ─► runInterleaved ─► samples per contender ─► summarize ─► markdownTable
 *
 * A contender is only a name and an argv, so adding a row (say `syncrepl() + replicate()` into an
 * LmdbStore) means adding one entry to a list, plus a child script when it is our own code.
 *
 * Why child processes: peak RSS is per process, and a fresh process per run keeps one contender's
 * heap, JIT state or open sockets from colouring the next one's figures.
 *
 * Why interleaved (round-robin, rotating who goes first): noise on a shared 2-core machine comes in
 * bursts; interleaving spreads a burst over all contenders instead of landing on one row.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

/** What a child that reports on itself prints as its last stdout line (see bench/children/). */
export interface ChildReport {
  /** Milliseconds measured inside the child (e.g. subscribe → complete), without process start-up. */
  ms: number;
  entries: number;
  /** The child's own reading of its peak RSS. */
  peakRssMB: number;
}

export interface Contender {
  /** The row label. */
  name: string;
  /** Program and arguments; spawned directly, never through a shell. */
  argv: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * `discard`: stdout goes straight to /dev/null, as with `> /dev/null` in a shell.
   * `report`: the child prints a {@link ChildReport} JSON line on stdout, which is kept.
   */
  stdout: 'discard' | 'report';
  /** For `discard` contenders: how many entries a captured stdout holds (used in the check run). */
  countEntries?: (stdout: string) => number;
  /** Set when the contender cannot run here; the row is printed with this reason instead of figures. */
  skip?: string;
}

export interface Sample {
  /** Spawn to exit, measured by the parent. */
  wallMs: number;
  /** Peak resident set of the process, from GNU time (undefined when /usr/bin/time is missing). */
  peakRssMB: number | undefined;
  /** User + system CPU seconds of the process, from GNU time. */
  cpuS: number | undefined;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  report?: ChildReport;
  /** The last bytes of stderr, kept when the run failed. */
  stderrTail?: string;
  /** Entries counted in captured stdout (check run only). */
  counted?: number;
}

export const GNU_TIME = '/usr/bin/time';

/** True when GNU time (Debian package `time`) is installed: it gives peak RSS of any child. */
export async function hasGnuTime(): Promise<boolean> {
  if (!existsSync(GNU_TIME)) return false;
  const dir = await mkdtemp(join(tmpdir(), 'syncrepl-rx-bench-'));
  try {
    const out = join(dir, 'time.out');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(GNU_TIME, ['-f', '%M', '-o', out, 'true'], { stdio: 'ignore' });
      child.on('error', () => resolve(null));
      child.on('exit', (c) => resolve(c));
    });
    return code === 0 && /^\d+\s*$/m.test(await readFile(out, 'utf8'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RunOptions {
  /** Wrap the command in GNU time for peak RSS and CPU time. */
  gnuTime: boolean;
  /** Keep stdout (even of a `discard` contender) to count entries. Slower: not for timed runs. */
  capture?: boolean;
  timeoutMs?: number;
}

/** Runs a contender once and measures it. Rejects only when it cannot be spawned. */
export async function runOnce(contender: Contender, options: RunOptions): Promise<Sample> {
  const dir = await mkdtemp(join(tmpdir(), 'syncrepl-rx-bench-'));
  const timeFile = join(dir, 'time.out');
  const [program, ...args] = options.gnuTime
    ? // %M: max RSS in KB; %U %S: user and system CPU seconds. -o keeps them off the child's stderr.
      [GNU_TIME, '-f', '%M %U %S', '-o', timeFile, ...contender.argv]
    : contender.argv;
  if (program === undefined) throw new Error(`contender ${contender.name} has an empty argv`);
  const keepStdout = options.capture === true || contender.stdout === 'report';
  const devNull = keepStdout ? undefined : openSync('/dev/null', 'w');
  try {
    return await new Promise<Sample>((resolve, reject) => {
      const started = process.hrtime.bigint();
      let wallMs = 0;
      const child = spawn(program, args, {
        env: contender.env ?? process.env,
        cwd: contender.cwd,
        stdio: ['ignore', keepStdout ? 'pipe' : devNull, 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout?.on('data', (b: Buffer) => out.push(b));
      child.stderr?.on('data', (b: Buffer) => {
        err = (err + b.toString('utf8')).slice(-4000);
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 600_000);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run ${program}: ${e.message}`));
      });
      // Wall time ends at 'exit' (the process is gone); 'close' comes later, once stdio is drained.
      child.on('exit', () => {
        wallMs = Number(process.hrtime.bigint() - started) / 1e6;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        void finish(code, signal).then(resolve, reject);
      });

      async function finish(code: number | null, signal: NodeJS.Signals | null): Promise<Sample> {
        const stdout = Buffer.concat(out).toString('utf8');
        // GNU time exits with the command's status and prefixes "Command exited with non-zero status N"
        // (or "... terminated by signal N") to its output file in that case: the figures are the last line.
        let peakRssMB: number | undefined;
        let cpuS: number | undefined;
        if (options.gnuTime) {
          const lines = (await readFile(timeFile, 'utf8').catch(() => '')).trim().split('\n');
          const m = /^(\d+) ([\d.]+) ([\d.]+)$/.exec(lines[lines.length - 1] ?? '');
          if (m) {
            peakRssMB = Number(m[1]) / 1024;
            cpuS = Number(m[2]) + Number(m[3]);
          }
        }
        const sample: Sample = { wallMs, peakRssMB, cpuS, exitCode: code, signal };
        if (code !== 0) sample.stderrTail = err.trim();
        if (contender.stdout === 'report' && code === 0) sample.report = parseReport(contender.name, stdout);
        if (options.capture && contender.countEntries) sample.counted = contender.countEntries(stdout);
        if (options.capture && sample.report) sample.counted = sample.report.entries;
        return sample;
      }
    });
  } finally {
    if (devNull !== undefined) closeSync(devNull);
    await rm(dir, { recursive: true, force: true });
  }
}

function parseReport(name: string, stdout: string): ChildReport {
  const last = stdout.trim().split('\n').pop() ?? '';
  try {
    const r = JSON.parse(last) as Partial<ChildReport>;
    if (typeof r.ms === 'number' && typeof r.entries === 'number' && typeof r.peakRssMB === 'number') {
      // Extra figures a child reports (e.g. bytesPerEntry) are kept for its benchmark to read.
      return { ...r, ms: r.ms, entries: r.entries, peakRssMB: r.peakRssMB };
    }
  } catch {
    // reported below
  }
  throw new Error(
    `${name} printed no report line; its stdout ended with ${JSON.stringify(last.slice(-200))}`,
  );
}

export interface InterleaveOptions extends Omit<RunOptions, 'capture'> {
  /** Timed rounds. */
  runs: number;
  /**
   * Untimed rounds first. The first one captures stdout and counts entries, so a contender that
   * silently returns nothing cannot post a fine time; all of them warm slapd's and the OS's caches
   * for every contender alike.
   */
  warmup: number;
  /** Called after each run, e.g. to print progress. `round` is -warmup..-1 for warm-up rounds. */
  onSample?: (contender: Contender, sample: Sample, round: number) => void;
}

export interface Results {
  /** Timed samples per contender name (skipped contenders have none). */
  samples: Map<string, Sample[]>;
  /** The check run's sample per contender name. */
  check: Map<string, Sample>;
}

/**
 * Runs every contender `runs` times, round-robin: round r starts with contender r mod n, so no
 * contender always runs first (right after the idle set-up) or last.
 */
export async function runInterleaved(
  contenders: readonly Contender[],
  options: InterleaveOptions,
): Promise<Results> {
  const active = contenders.filter((c) => c.skip === undefined);
  const samples = new Map<string, Sample[]>(active.map((c) => [c.name, []]));
  const check = new Map<string, Sample>();
  const total = options.warmup + options.runs;
  for (let round = 0; round < total; round++) {
    const timed = round >= options.warmup;
    for (let k = 0; k < active.length; k++) {
      const contender = active[(round + k) % active.length];
      if (contender === undefined) continue;
      const capture = round === 0;
      const sample = await runOnce(contender, { ...options, capture });
      if (capture) check.set(contender.name, sample);
      if (timed) samples.get(contender.name)?.push(sample);
      options.onSample?.(contender, sample, round - options.warmup);
    }
  }
  if (options.warmup === 0) {
    // No check run happened: count entries from the reports alone (discard contenders stay unchecked).
    for (const [name, list] of samples) {
      const first = list[0];
      if (first) check.set(name, { ...first, ...(first.report ? { counted: first.report.entries } : {}) });
    }
  }
  return { samples, check };
}

/** The middle value (mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return NaN;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

export interface Summary {
  ok: number;
  failed: number;
  wallMs: { median: number; min: number; max: number };
  /** From the child's own report (subscribe → complete), when it reports. */
  innerMs?: { median: number; min: number; max: number };
  peakRssMB: number;
  cpuS: number;
  entries: number;
}

/** Medians over the successful samples of one contender. */
export function summarize(samples: readonly Sample[]): Summary {
  const ok = samples.filter((s) => s.exitCode === 0);
  const range = (xs: number[]) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs) });
  const reports = ok.flatMap((s) => (s.report ? [s.report] : []));
  return {
    ok: ok.length,
    failed: samples.length - ok.length,
    wallMs: range(ok.map((s) => s.wallMs)),
    ...(reports.length > 0 ? { innerMs: range(reports.map((r) => r.ms)) } : {}),
    peakRssMB: median(ok.map((s) => s.peakRssMB ?? NaN)),
    cpuS: median(ok.map((s) => s.cpuS ?? NaN)),
    entries: median(reports.map((r) => r.entries)),
  };
}

/**
 * A GitHub-flavoured Markdown table. `align` has one letter per column, `l` or `r`; by default the
 * first column is left-aligned (labels) and the others right-aligned (figures).
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: string = 'l'.padEnd(header.length, 'r'),
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number) => align[i] !== 'r';
  const line = (cells: readonly string[]) =>
    `| ${widths.map((w, i) => (left(i) ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (left(i) ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** `1234.5` → `1,235`; NaN → `n/a`. */
export function fmt(x: number, digits = 0): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGB: number;
  kernel: string;
  node: string;
  [tool: string]: string | number;
}

/** CPU model, core count, memory, kernel and Node version, plus whatever the caller adds. */
export function machineInfo(extra: Record<string, string> = {}): MachineInfo {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    ...extra,
  };
}

/** The first line a command prints (stdout or stderr), or undefined when it cannot run. */
export async function versionOf(argv: readonly string[]): Promise<string | undefined> {
  const [program, ...args] = argv;
  if (program === undefined) return undefined;
  return new Promise((resolve) => {
    let text = '';
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => (text += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (text += b.toString('utf8')));
    child.on('error', () => resolve(undefined));
    child.on('close', () =>
      resolve(
        text
          .split('\n')
          .find((l) => l.trim() !== '')
          ?.trim(),
      ),
    );
  });
}

/** Writes `bench/results/<name>-<timestamp>.json` (gitignored) and returns its path. */
export async function writeResults(resultsDir: string, name: string, data: unknown): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(resultsDir, `${name}-${stamp}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}
