/**
 * The `syncrepl-rx` CLI as a process (the built bin), against a real slapd.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSlapd, type Slapd } from '../fixtures/slapd.js';
import { binaryValue, ldifEntry, ldifModify, peopleLdif, personDn } from '../fixtures/ldif.js';

const CLI = fileURLToPath(new URL('../../packages/core/dist/cli/main.js', import.meta.url));
const PEOPLE = 'ou=people,dc=example,dc=com';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(
  args: string[],
  opts: { until?: (out: string) => boolean; signal?: NodeJS.Signals } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!signalled && opts.until?.(stdout)) {
        signalled = true;
        child.kill(opts.signal ?? 'SIGINT');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`CLI did not exit: ${stderr}`));
    }, 15_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let s: Slapd;
let pwFile: string;
let common: string[];
beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('the CLI is not built: run `pnpm build` (the test command does)');
  s = await startSlapd({ ldif: peopleLdif(10), sessionlog: 100 });
  pwFile = join(s.dir, 'cli-reader.pw');
  await writeFile(pwFile, `${s.readerPassword}\n`, { mode: 0o600 });
  common = ['tail', '-H', s.url, '-D', s.readerDN, '-y', pwFile, '-b', PEOPLE];
});
afterAll(() => s?.close());

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('syncrepl-rx tail', () => {
  test('refreshOnly prints one NDJSON object per message and exits 0', async () => {
    const r = await run([...common, '--mode', 'refreshOnly', '--format', 'ndjson']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const msgs = lines(r.stdout);
    expect(msgs.filter((m) => m.type === 'add')).toHaveLength(11);
    const person = msgs.find((m) => m.dn === personDn(3));
    expect(person).toMatchObject({ type: 'add', entryUUID: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect((person?.attributes as Record<string, unknown>).uid).toEqual(['user000003']);
    expect(msgs.at(-1)).toMatchObject({ type: 'done' });
  });

  test('the filter and attributes are positional, as in ldapsearch; text format is one line each', async () => {
    const r = await run([...common, '--mode', 'refreshOnly', '(uid=user000004)', 'mail', 'uid']);
    expect(r.code).toBe(0);
    const out = r.stdout.trim().split('\n');
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(
      /^add\s+uid=user000004,ou=people,dc=example,dc=com\s+\{[0-9a-f-]{36}\}\s+uid=user000004 mail=user000004@example.com$/,
    );
    expect(out[1]).toMatch(/^done/);
  });

  test('binary values are printed as base64 in NDJSON', async () => {
    const photo = binaryValue(3, 40);
    await s.add(
      ldifEntry(`uid=clipic,${PEOPLE}`, {
        objectClass: 'inetOrgPerson',
        uid: 'clipic',
        cn: 'c',
        sn: 's',
        jpegPhoto: photo,
      }),
    );
    const r = await run([
      ...common,
      '--mode',
      'refreshOnly',
      '--format',
      'ndjson',
      '(uid=clipic)',
      'jpegPhoto',
    ]);
    const [entry] = lines(r.stdout);
    expect((entry?.attributes as Record<string, unknown>).jpegPhoto).toEqual([
      { base64: photo.toString('base64') },
    ]);
  });

  test('--cookie-file resumes: a second run prints only what changed', async () => {
    const cookieFile = join(s.dir, 'cli.cookie');
    const first = await run([
      ...common,
      '--mode',
      'refreshOnly',
      '--format',
      'ndjson',
      '--cookie-file',
      cookieFile,
    ]);
    expect(first.code).toBe(0);
    await s.modify(ldifModify(personDn(6), [{ op: 'replace', attribute: 'title', values: ['CLI'] }]));
    const second = await run([
      ...common,
      '--mode',
      'refreshOnly',
      '--format',
      'ndjson',
      '--cookie-file',
      cookieFile,
    ]);
    expect(second.code).toBe(0);
    expect(
      lines(second.stdout)
        .filter((m) => m.type === 'add')
        .map((m) => m.dn),
    ).toEqual([personDn(6)]);
  });

  test('Ctrl-C in persist mode stops cleanly with exit 0', async () => {
    const r = await run([...common, '--format', 'ndjson'], {
      until: (out) => out.includes('"refreshDone":true'),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout).some((m) => m.type === 'refreshDelete' || m.type === 'refreshPresent')).toBe(true);
  });

  test('a refused bind exits 1 with a clear message and no password', async () => {
    const bad = join(s.dir, 'bad.pw');
    await writeFile(bad, 'Wrong-Secret-99', { mode: 0o600 });
    const r = await run([
      'tail',
      '-H',
      s.url,
      '-D',
      s.readerDN,
      '-y',
      bad,
      '-b',
      PEOPLE,
      '--mode',
      'refreshOnly',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the bind.*invalidCredentials/);
    expect(r.stdout + r.stderr).not.toContain('Wrong-Secret-99');
  });

  test.each([
    [['tail', '--bogus']],
    [['tail', '-b', PEOPLE]],
    [['frobnicate']],
    [[]],
    [['tail', '-H', 'ldap://127.0.0.1:1', '-b', PEOPLE, '--mode', 'sometimes']],
    [['tail', '-H', 'ldap://127.0.0.1:1', '-b', PEOPLE, '-s', 'deep']],
    [['tail', '-H', 'ldap://127.0.0.1:1', '-b', PEOPLE, '--format', 'xml']],
  ])('bad usage %j prints usage and exits 2', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Usage: syncrepl-rx tail/);
  });
});
