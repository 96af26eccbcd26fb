/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function, heaviest first, with
 * positions mapped back through the build's source maps (dist/*.js.map → src/*.ts) when they exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  functionName: string;
  /** `path:line` (1-based), relative to `root`, in the TypeScript source when a source map says so. */
  location: string;
  selfMs: number;
  /** Share of the non-idle time. */
  selfPercent: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Waiting on the event loop: for a network client, mostly waiting for slapd. */
  idleMs: number;
  gcMs: number;
  hotSpots: HotSpot[];
}

const maps = new Map<string, SourceMap | undefined>();

function sourceMapFor(file: string): SourceMap | undefined {
  if (!maps.has(file)) {
    const mapFile = `${file}.map`;
    let map: SourceMap | undefined;
    if (existsSync(mapFile)) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as SourceMapPayload);
      } catch {
        map = undefined;
      }
    }
    maps.set(file, map);
  }
  return maps.get(file);
}

function locate(frame: ProfileNode['callFrame'], root: string): string {
  if (frame.url === '') return '(native)';
  if (!frame.url.startsWith('file://')) return `${frame.url}:${frame.lineNumber + 1}`;
  const file = fileURLToPath(frame.url);
  const entry = sourceMapFor(file)?.findEntry(frame.lineNumber, frame.columnNumber) as
    { originalSource?: string; originalLine?: number } | undefined;
  if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
    // tsc writes sources relative to the map file (`../src/x.ts`).
    const source = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : resolve(dirname(file), entry.originalSource);
    return `${relative(root, source)}:${entry.originalLine + 1}`;
  }
  return `${relative(root, file)}:${frame.lineNumber + 1}`;
}

/** Self time per function (aggregated over all its call sites), the `top` heaviest. */
export function summarizeProfile(profile: CpuProfile, root: string, top = 10): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; attributing it to sample i is what DevTools does too.
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[i] ?? 0));
  }
  let idleUs = 0;
  let gcUs = 0;
  const perFunction = new Map<string, { functionName: string; location: string; us: number }>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    if (frame.functionName === '(garbage collector)') gcUs += us;
    const location = locate(frame, root);
    const functionName = frame.functionName || '(anonymous)';
    const key = `${functionName}@${location}`;
    const row = perFunction.get(key) ?? { functionName, location, us: 0 };
    row.us += us;
    perFunction.set(key, row);
  }
  const totalUs = profile.endTime - profile.startTime;
  const busyUs = Math.max(1, totalUs - idleUs);
  const hotSpots = [...perFunction.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((r) => ({
      functionName: r.functionName,
      location: r.location,
      selfMs: r.us / 1000,
      selfPercent: (100 * r.us) / busyUs,
    }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, gcMs: gcUs / 1000, hotSpots };
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

export interface InclusiveSpot {
  functionName: string;
  location: string;
  /** Time in this function and everything it called. */
  totalMs: number;
  /** Share of the non-idle time. */
  totalPercent: number;
}

/**
 * Inclusive time per function (self plus callees, each sample counted once per function however
 * deep the recursion), heaviest first, for the frames `keep` accepts (by name and mapped location). Self
 * time names the leaf (often a syscall); this names the caller in our code that led there.
 */
export function inclusiveProfile(
  profile: CpuProfile,
  root: string,
  keep: (frame: { functionName: string; location: string }) => boolean,
  top = 15,
): InclusiveSpot[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i] ?? 0));
  }
  const locations = new Map<number, { key: string; functionName: string; location: string }>();
  const frameOf = (id: number) => {
    let f = locations.get(id);
    if (!f) {
      const frame = byId.get(id)!.callFrame;
      const location = locate(frame, root);
      const functionName = frame.functionName || '(anonymous)';
      f = { key: `${functionName}@${location}`, functionName, location };
      locations.set(id, f);
    }
    return f;
  };
  let busyUs = 0;
  const totals = new Map<string, InclusiveSpot & { us: number }>();
  for (const [leaf, us] of selfUs) {
    if (byId.get(leaf)?.callFrame.functionName === '(idle)') continue;
    busyUs += us;
    const seen = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const f = frameOf(id);
      if (seen.has(f.key) || !keep(f)) continue;
      seen.add(f.key);
      const row = totals.get(f.key) ?? { ...f, totalMs: 0, totalPercent: 0, us: 0 };
      row.us += us;
      totals.set(f.key, row);
    }
  }
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((r) => ({
      functionName: r.functionName,
      location: r.location,
      totalMs: r.us / 1000,
      totalPercent: (100 * r.us) / Math.max(1, busyUs),
    }));
}
