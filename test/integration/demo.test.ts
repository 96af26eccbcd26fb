/**
 * The README's main command, as a process: SubMan from nothing, then Ctrl-C.
 */
import { expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type AddressInfo } from 'node:net';
import { ChangeGenerator } from '../../examples/subman/src/changes.js';

const MAIN = fileURLToPath(new URL('../../examples/subman/src/main.ts', import.meta.url));

test.each(['openldap', '389ds'])(
  'the SubMan demo (--server %s) starts its directory, loads data, serves the API, prints URLs and a curl example, and Ctrl-C cleans up',
  async (server) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, '--port', '0', '--size', '50', '--changes', '200', '--server', server],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!out.includes('Ctrl-C stops everything')) {
        if (Date.now() - started > 90_000) throw new Error(`demo did not start: ${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(out).toContain(`SubMan is up: ${server === '389ds' ? '389-ds' : 'slapd'} at ldap://127.0.0.1:`);
      const realms = /realms\s+(http:\/\/\S+)/.exec(out)?.[1];
      expect(out).toMatch(
        /curl -N 'http:\/\/127\.0\.0\.1:\d+\/realm\/example\.org\/subscriber\?subscribe=1'/,
      );
      const list = (await (await fetch(realms!)).json()) as { id: string }[];
      expect(list.map((r) => r.id)).toEqual(['campus.example', 'example.net', 'example.org', 'isp.example']);
      // The change generator is writing: wait for a change or two.
      while (!err.includes('change: ')) await new Promise((r) => setTimeout(r, 50));
      const slapdDir = dirname(/-y (\S+root\.pw)/.exec(out)![1]!);
      expect(existsSync(slapdDir)).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(existsSync(slapdDir)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  },
  120_000,
);

/** Runs the demo to its exit (for the cases that end at once). */
function demo(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('the demo: --help, one sentence and exit 2 for bad usage, one sentence and exit 1 for a port in use', async () => {
  const help = await demo(['--help']);
  expect(help.code).toBe(0);
  expect(help.out).toMatch(/^usage: npm run demo -- \[options\]/);
  expect(help.out).toContain('--changes MS');

  const bogus = await demo(['--bogus']);
  expect(bogus.code).toBe(2);
  expect(bogus.err).toBe("demo: Unknown option '--bogus' (see --help)\n");
  const size = await demo(['--size', 'many']);
  expect(size.code).toBe(2);
  expect(size.err).toBe('demo: --size must be a whole number from 0 to 1000000 (see --help)\n');

  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const port = (taken.address() as AddressInfo).port;
    const busy = await demo(['--port', String(port), '--size', '5']);
    expect(busy.code).toBe(1);
    expect(busy.err).toContain(
      `demo: port ${port} is in use: pass another one with --port (0 picks a free one)\n`,
    );
    expect(busy.err).not.toMatch(/\n\s+at /); // no stack trace
  } finally {
    taken.close();
  }
}, 60_000);

test("the change generator leaves alone the subscriber the demo's printed example changes", () => {
  const generator = new ChangeGenerator(20, 7, ['sub000000']);
  for (let i = 0; i < 500; i++) expect(generator.change().ldif).not.toContain('uid=sub000000,');
  // Without it, the same generator does touch it.
  const plain = new ChangeGenerator(20, 7);
  expect(
    Array.from({ length: 500 }, () => plain.change().ldif).some((l) => l.includes('uid=sub000000,')),
  ).toBe(true);
});
