/**
 * No import cycles in the packages' sources, type-only imports included: the import graph of
 * packages/<pkg>/src/**\/*.ts (relative imports and re-exports, `import type` and `import()`
 * too) is read with TypeScript's own pre-processor and must have no strongly connected
 * component of more than one module, nor a module importing itself. The layer order inside
 * packages/core is enforced by eslint (eslint.config.js, docs/design.md "Layers").
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TypeScript from 'typescript';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ts = createRequire(join(ROOT, 'package.json'))('typescript') as typeof TypeScript;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sources(path);
    return d.name.endsWith('.ts') ? [path] : [];
  });
}

/** The module a relative specifier names (`./x.js` is `./x.ts`), or undefined if not a source. */
function resolveSpecifier(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  const stem = base.replace(/\.(js|ts|mjs|cjs)$/, '');
  for (const candidate of [`${stem}.ts`, `${stem}.d.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** file → the files it imports (any kind of import, type-only included). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const pkg of readdirSync(join(ROOT, 'packages'))) {
    const src = join(ROOT, 'packages', pkg, 'src');
    if (!existsSync(src)) continue;
    for (const file of sources(src)) {
      const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      const targets = info.importedFiles
        .map((f) => resolveSpecifier(file, f.fileName))
        .filter((f): f is string => f !== undefined);
      graph.set(file, [...new Set(targets)]);
    }
  }
  return graph;
}

/** Strongly connected components (Tarjan) of more than one node, or of a node importing itself. */
function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test('the import graph of packages/*/src has no cycles (type-only imports included)', () => {
  const graph = importGraph();
  expect(graph.size).toBeGreaterThan(40);
  // The reader sees every kind of import: a type-only one, a re-export.
  const rel = (f: string) => relative(ROOT, f);
  const edges = (f: string) => (graph.get(join(ROOT, f)) ?? []).map(rel);
  expect(edges('packages/server/src/stream.ts')).toContain('packages/server/src/frames.ts');
  expect(edges('packages/core/src/index.ts')).toContain('packages/core/src/dn.ts');
  const found = cycles(graph).map((c) => c.map(rel).join(' ⇄ '));
  expect(found, `import cycles:\n${found.join('\n')}`).toEqual([]);
});

test('the cycle finder finds a cycle, type-only or not', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['d']],
    ['e', ['a']],
  ]);
  expect(cycles(g)).toEqual([['a', 'b', 'c'], ['d']]);
  expect(ts.preProcessFile("import type { X } from './x.js';", true, true).importedFiles[0]!.fileName).toBe(
    './x.js',
  );
});
