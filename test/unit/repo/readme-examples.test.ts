/**
 * The READMEs' TypeScript examples compile: every ```ts and ```tsx block of README.md and of
 * each package's README is written to a module of its own under test/artifacts/readme and type-checked by tsc
 * (strict, the packages' own types, DOM and Node). A block must stand on its own: imports and
 * every name it uses. TSX blocks compile against React's types. Blocks marked ```ts signatures (an
 * API listing) and ```svelte snippets are not compiled.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const OUT = fileURLToPath(new URL('../../artifacts/readme/', import.meta.url));

const readmes = [
  'README.md',
  ...readdirSync(join(ROOT, 'packages'))
    .map((p) => join('packages', p, 'README.md'))
    .filter((f) => existsSync(join(ROOT, f))),
];

interface Block {
  file: string;
  line: number;
  code: string;
  /** A ```tsx block: compiled as TSX against React's own types (@types/react). */
  tsx: boolean;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const fence = lines[i];
    if (fence !== '```ts' && fence !== '```tsx') continue;
    const start = i + 1;
    while (i + 1 < lines.length && lines[i + 1] !== '```') i++;
    out.push({ file, line: start + 1, code: lines.slice(start, i + 1).join('\n'), tsx: fence === '```tsx' });
    i++;
  }
  return out;
}

test("the READMEs' TypeScript examples compile against the packages' types", async () => {
  const all = readmes.flatMap(blocks);
  expect(all.length).toBeGreaterThanOrEqual(5);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const names = new Map<string, Block>();
  all.forEach((b, n) => {
    const name = `${b.file.replace(/[/.]/g, '_')}_${n}.${b.tsx ? 'tsx' : 'ts'}`;
    names.set(name, b);
    // A module of its own, whatever the block holds.
    writeFileSync(join(OUT, name), `${b.code}\nexport {};\n`);
  });
  writeFileSync(
    join(OUT, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: {
        lib: ['ES2023', 'DOM', 'DOM.Iterable'],
        noUnusedLocals: false,
        jsx: 'react-jsx',
        types: ['node', 'react'],
      },
      include: ['*.ts', '*.tsx'],
      exclude: [],
    }),
  );
  const tsc = createRequire(join(ROOT, 'package.json')).resolve('typescript/bin/tsc');
  const output = await new Promise<string>((resolve) =>
    execFile(process.execPath, [tsc, '-p', OUT, '--pretty', 'false'], { cwd: ROOT }, (_err, stdout) =>
      resolve(stdout),
    ),
  );
  // Point each error at its README line.
  const errors = output
    .split('\n')
    .filter((l) => l.includes('error TS'))
    .map((l) => {
      const m = /([^/\\]+\.tsx?)\((\d+),(\d+)\): (.*)$/.exec(l);
      const b = m && names.get(m[1]!);
      return b ? `${b.file}:${b.line + Number(m![2]) - 1}: ${m![4]}` : relative(ROOT, l);
    });
  expect(errors).toEqual([]);
}, 120_000);
