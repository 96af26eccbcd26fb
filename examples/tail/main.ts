/**
 * The quick-start demo: a throwaway slapd (mdb + syncprov) in a temp dir, loaded with sample
 * people, a change generator writing to it, and `syncrepl-rx tail` following it.
 *
 *   tsx main.ts [--entries N] [--interval MS] [--duration S] [--format text|ndjson]
 *
 * Ctrl-C stops everything: the CLI cancels its search, slapd stops, the temp dir is removed.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSlapd } from '../../test/fixtures/slapd.js';
import {
  ldifDelete,
  ldifModify,
  ldifModrdn,
  peopleLdif,
  personDn,
  personLdif,
} from '../../test/fixtures/ldif.js';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '25' },
    interval: { type: 'string', default: '1500' },
    duration: { type: 'string' },
    format: { type: 'string', default: 'text' },
  },
});
const entries = Number(values.entries);
const interval = Number(values.interval);
const cli = fileURLToPath(new URL('../../packages/core/dist/cli/main.js', import.meta.url));
const base = 'ou=people,dc=example,dc=com';

const slapd = await startSlapd({ ldif: peopleLdif(entries), sessionlog: 1000 });
const passwordFile = `${slapd.dir}/reader.pw`;
const { writeFile } = await import('node:fs/promises');
await writeFile(passwordFile, slapd.readerPassword, { mode: 0o600 });

const args = [
  'tail',
  '-H',
  slapd.url,
  '-D',
  slapd.readerDN,
  '-y',
  passwordFile,
  '-b',
  base,
  '--format',
  values.format!,
];
process.stderr.write(
  `\nslapd (mdb + syncprov) is running at ${slapd.url} with ${entries} people under ${base}.\n` +
    `Following it with:\n  syncrepl-rx ${args.join(' ')}\n` +
    `A change generator modifies, adds, renames and deletes people every ${interval} ms. Ctrl-C stops.\n\n`,
);
const tail = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'inherit', 'inherit'] });

// The change generator: a deterministic cycle of modify, add, rename and delete.
let next = entries;
let step = 0;
const live: string[] = Array.from({ length: entries }, (_, i) => personDn(i));
const timer = setInterval(() => {
  step++;
  const at = (step * 7) % live.length;
  const dn = live[at];
  let change: Promise<void> = Promise.resolve();
  if (step % 4 === 1 && dn) {
    change = slapd.modify(ldifModify(dn, [{ op: 'replace', attribute: 'title', values: [`Title ${step}`] }]));
  } else if (step % 4 === 2) {
    live.push(personDn(next));
    change = slapd.add(personLdif(next++));
  } else if (step % 4 === 3 && dn) {
    const renamed = `uid=renamed${step},${base}`;
    live[at] = renamed;
    change = slapd.modify(ldifModrdn(dn, `uid=renamed${step}`, { deleteOldRdn: false }));
  } else if (dn) {
    live.splice(at, 1);
    change = slapd.modify(ldifDelete(dn));
  }
  change.catch((err: unknown) => process.stderr.write(`change generator: ${String(err)}\n`));
}, interval);

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(timer);
  if (tail.exitCode === null) {
    tail.kill('SIGINT');
    await new Promise((resolve) => tail.once('exit', resolve));
  }
  await slapd.close();
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
tail.on('exit', (code) => void shutdown(code ?? 1));
if (values.duration) setTimeout(() => void shutdown(0), Number(values.duration) * 1000);
