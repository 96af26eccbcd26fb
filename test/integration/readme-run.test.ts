/**
 * The README's first example runs: the first ```ts block of README.md, unchanged except for its
 * URL (pointed at a real slapd) and run as a program of its own, prints the directory and then a
 * live change, and keeps its cookie file. Its bind DN, base and filter are the test slapd's own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { ldifModify, peopleLdif, personDn } from '../fixtures/ldif.js';
import { startSlapd, type Slapd } from '../fixtures/slapd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Inside the test package, so that `@syncrepl-rx/core` resolves as a user's install would. */
const OUT = fileURLToPath(new URL('../artifacts/readme-run/', import.meta.url));
const TSX = pathToFileURL(createRequire(join(ROOT, 'package.json')).resolve('tsx/esm')).href;

/** The first ```ts block of README.md. */
function firstExample(): string {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /^```ts\n([\s\S]*?)^```$/m.exec(text);
  if (!m) throw new Error('README.md has no ```ts block');
  return m[1]!;
}

let s: Slapd;
let cwd: string;
let child: ChildProcess | undefined;
beforeAll(async () => {
  s = await startSlapd({ ldif: peopleLdif(5), sessionlog: 100 });
  cwd = mkdtempSync(join(tmpdir(), 'readme-run-'));
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await s?.close();
  rmSync(cwd, { recursive: true, force: true });
});

test('the first README example prints the directory, says live, then prints a live modify', async () => {
  const example = firstExample();
  expect(example).toContain('syncrepl(');
  const placeholder = "'ldap://ldap.example.com'";
  expect(example.split(placeholder)).toHaveLength(2);
  mkdirSync(OUT, { recursive: true });
  const file = join(OUT, 'first-example.ts');
  writeFileSync(file, example.replace(placeholder, JSON.stringify(s.url)));

  const proc = spawn(process.execPath, ['--import', TSX, file], {
    cwd,
    env: { ...process.env, LDAP_PASSWORD: s.readerPassword },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const until = (what: string, predicate: () => boolean) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (predicate()) return resolve();
        if (proc.exitCode !== null)
          return reject(new Error(`exited ${proc.exitCode} before ${what}: ${err}`));
        setTimeout(check, 20);
      };
      check();
    });

  await until('now live', () => out.includes('now live'));
  // The five people, each with its mail, before "now live".
  const before = out.slice(0, out.indexOf('now live')).trim().split('\n');
  expect(before).toHaveLength(5);
  for (const line of before)
    expect(line).toMatch(
      /^add [0-9a-f-]{36} uid=user\d+,ou=people,dc=example,dc=com \[ 'user\d+@example\.com' \]$/,
    );

  await s.modify(
    ldifModify(personDn(2), [{ op: 'replace', attribute: 'mail', values: ['new@example.com'] }]),
  );
  await until('the modify', () => out.includes('modify'));
  expect(out.slice(out.indexOf('now live'))).toMatch(
    new RegExp(`^modify [0-9a-f-]{36} ${personDn(2)} \\[ 'new@example\\.com' \\]$`, 'm'),
  );
  expect(err).toBe('');
  expect(existsSync(join(cwd, 'people.cookie'))).toBe(true);
  proc.kill('SIGTERM');
  await exited;
}, 60_000);
