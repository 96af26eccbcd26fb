/**
 * The README's main command, as a process: SubMan from nothing, then Ctrl-C.
 */
import { expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../examples/subman/src/main.ts', import.meta.url));

test('the SubMan demo starts slapd, loads data, serves the API, prints URLs and a curl example, and Ctrl-C cleans up', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--port', '0', '--size', '50', '--changes', '200'],
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
      if (Date.now() - started > 30_000) throw new Error(`demo did not start: ${err}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const realms = /realms\s+(http:\/\/\S+)/.exec(out)?.[1];
    expect(out).toMatch(/curl -N 'http:\/\/127\.0\.0\.1:\d+\/realm\/example\.org\/subscriber\?subscribe=1'/);
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
});
