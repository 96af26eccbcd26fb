/**
 * The `syncrepl-rx` CLI as a process (the built bin), against a real slapd.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { chmodSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSlapd, type Slapd } from '../fixtures/slapd.js';
import { CLI, runCli as run, startCli, startCliSlapd } from '../fixtures/cli.js';
import { binaryValue, ldifEntry, ldifModify, peopleLdif, personDn } from '../fixtures/ldif.js';

const PEOPLE = 'ou=people,dc=example,dc=com';

let s: Slapd;
let common: string[];
beforeAll(async () => {
  ({ slapd: s, common } = await startCliSlapd());
});
afterAll(() => s?.close());

const lines = (out: string) =>
  out
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('syncrepl-rx tail', () => {
  test('--messages: refreshOnly prints one NDJSON object per protocol message and exits 0', async () => {
    const r = await run([...common, '--messages', '--mode', 'refreshOnly', '--format', 'ndjson']);
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
    const r = await run([
      ...common,
      '--messages',
      '--mode',
      'refreshOnly',
      '(uid=user000004)',
      'mail',
      'uid',
    ]);
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
      until: (out) => out.includes('"type":"ready"'),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(lines(r.stdout).at(-1)).toMatchObject({ type: 'ready' });
  });

  test('typed changes by default: NDJSON with type, entryUUID and dn, ending in ready', async () => {
    const r = await run([
      ...common,
      '--mode',
      'refreshOnly',
      '--format',
      'ndjson',
      '(|(uid=user000001)(uid=user000002))',
    ]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out.map((c) => `${String(c.type)} ${String(c.dn ?? '')}`)).toEqual([
      `add ${personDn(1)}`,
      `add ${personDn(2)}`,
      'ready ',
    ]);
    expect(out[0]!.entryUUID).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('--store: a second run prints exactly the modify, rename, delete and add made meanwhile', async () => {
    const store = join(s.dir, 'cli-store');
    const team = `ou=team,${PEOPLE}`;
    const scoped = [...common.slice(0, -1), team, '--mode', 'refreshOnly', '--store', store];
    const person = (i: number) =>
      `dn: uid=t${i},${team}\nobjectClass: inetOrgPerson\nuid: t${i}\ncn: T ${i}\nsn: T\ntitle: Old ${i}`;
    await s.add(
      [`dn: ${team}\nobjectClass: organizationalUnit\nou: team`, person(1), person(2), person(3)].join(
        '\n\n',
      ),
    );
    const first = await run([...scoped, '--format', 'ndjson']);
    expect(first.code).toBe(0);
    expect(lines(first.stdout).filter((c) => c.type === 'add')).toHaveLength(4);

    await s.modify(ldifModify(`uid=t1,${team}`, [{ op: 'replace', attribute: 'title', values: ['New 1'] }]));
    await s.modify(`dn: uid=t2,${team}\nchangetype: modrdn\nnewrdn: uid=t2b\ndeleteoldrdn: 1`);
    await s.delete(`uid=t3,${team}`);
    await s.add(`dn: uid=t4,${team}\nobjectClass: inetOrgPerson\nuid: t4\ncn: T 4\nsn: T`);

    const second = await run(scoped);
    expect(second.code).toBe(0);
    const text = second.stdout;
    expect(text).toContain(`modify   uid=t1,${team}`);
    expect(text).toContain('    - title: Old 1\n    + title: New 1\n');
    expect(text).toContain(`rename   uid=t2,${team} -> uid=t2b,${team}`);
    expect(text).toContain('    - uid: t2\n    + uid: t2b\n');
    expect(text).toContain(`delete   uid=t3,${team}`);
    expect(text).toContain(`add      uid=t4,${team}`);
    expect(text.match(/^(add|modify|rename|delete) /gm)).toHaveLength(4);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/^ready/);
  });

  test('a stdout reader that stalls pauses the LDAP socket, and everything still arrives', async () => {
    const big = await startSlapd({ ldif: peopleLdif(5000) });
    try {
      const pw = join(big.dir, 'stall.pw');
      await writeFile(pw, big.readerPassword, { mode: 0o600 });
      const child = spawn(
        process.execPath,
        [
          CLI,
          'tail',
          '-H',
          big.url,
          '-D',
          big.readerDN,
          '-y',
          pw,
          '-b',
          PEOPLE,
          '--mode',
          'refreshOnly',
          '--format',
          'ndjson',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout.pause(); // the reader stalls: the CLI must wait, not buffer everything
      await new Promise((r) => setTimeout(r, 500));
      expect(child.exitCode).toBe(null);
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stdout.resume();
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      const changes = lines(out);
      expect(changes.filter((c) => c.type === 'add')).toHaveLength(5001);
      expect(changes.at(-1)).toMatchObject({ type: 'ready' });
    } finally {
      await big.close();
    }
  });

  test('hostile values reach the terminal escaped in text format: no escape sequence, no line of their own', async () => {
    const hostile = 'red \x1b[31mALERT\x1b[0m\nadd      uid=forged\u2028\x07';
    await s.add(
      `dn: uid=hostile,${PEOPLE}\nobjectClass: inetOrgPerson\nuid: hostile\ncn: hostile\nsn: hostile\n` +
        `description:: ${Buffer.from(hostile).toString('base64')}\n`,
    );
    for (const mode of [['--messages'], []]) {
      const r = await run([...common, ...mode, '--mode', 'refreshOnly', '(uid=hostile)', 'description']);
      expect(r.code).toBe(0);
      // eslint-disable-next-line no-control-regex
      expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f\u2028]/);
      expect(r.stdout).toContain('red \\x1b[31mALERT\\x1b[0m\\x0aadd      uid=forged\\u2028\\x07');
      expect(r.stdout.split('\n').filter((l) => l.includes('uid=forged'))).toHaveLength(1);
    }
    await s.delete(`uid=hostile,${PEOPLE}`);
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
    [['tail', '-H', 'ldap://127.0.0.1:1', '-b', PEOPLE, '--store', '/tmp/x', '--cookie-file', '/tmp/y']],
    [['tail', '-H', 'ldap://127.0.0.1:1', '-b', PEOPLE, '--start-over']],
  ])('bad usage %j says what is wrong in one line, points to --help and exits 2', async (args) => {
    const r = await run(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^syncrepl-rx: [^\n]+\nTry 'syncrepl-rx --help'\.\n$/);
  });

  test('a bad filter and an unreadable CA file are usage errors (2) in one sentence; --version and --help exit 0', async () => {
    const filter = await run([...common, '(uid=']);
    expect([filter.code, filter.stderr]).toEqual([
      2,
      'syncrepl-rx: bad filter "(uid=": unbalanced parentheses\nTry \'syncrepl-rx --help\'.\n',
    ]);
    const ca = await run([...common, '--ca', '/nonexistent/ca.pem']);
    expect([ca.code, ca.stderr]).toEqual([
      2,
      "syncrepl-rx: cannot read the CA file /nonexistent/ca.pem: ENOENT\nTry 'syncrepl-rx --help'.\n",
    ]);
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^syncrepl-rx \d+\.\d+\.\d+/);
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes: 0 done/);
  });

  test('a reader that closes stdout (| head -1) ends the run quietly with exit 0', async () => {
    const child = spawn(process.execPath, [CLI, ...common, '--messages'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // the reader is gone
    // The next write finds the pipe closed: a change makes one.
    await s.modify(
      ldifModify(personDn(2), [
        { op: 'replace', attribute: 'description', values: ['after the reader left'] },
      ]),
    );
    expect(await exited).toBe(0);
    expect(stderr).not.toMatch(/EPIPE|\n\s+at /);
  });
  test('refreshOnly ends with ready, without promising live changes', async () => {
    const r = await run([
      'tail',
      '-H',
      `${s.url} ${s.url}`,
      ...common.slice(3),
      '--mode',
      'refreshOnly',
      '(uid=user000001)',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ready    (the replica equals the directory)');
    expect(r.stdout + r.stderr).not.toMatch(/follow(s|ing) (its|live) changes|live changes follow/);
  });

  test('--cookie-file without --store: deletes made meanwhile print by entryUUID, and stderr says once what cannot be known', async () => {
    const cookieFile = join(s.dir, 'honest.cookie');
    await s.add(
      [1, 2, 3]
        .map((i) => `dn: uid=ck${i},${PEOPLE}\nobjectClass: inetOrgPerson\nuid: ck${i}\ncn: ck ${i}\nsn: ck`)
        .join('\n\n'),
    );
    const args = [...common, '--cookie-file', cookieFile, '(uid=ck*)'];
    // a persistent run, stopped once it is live
    const first = startCli([...args, '--format', 'ndjson']);
    await first.waitFor(({ stdout }) => stdout.includes('"type":"ready"'));
    const stopped = await first.stop();
    expect([stopped.code, stopped.stderr]).toEqual([0, '']);
    const uuid = (uid: string) =>
      lines(stopped.stdout).find((c) => c.dn === `uid=${uid},${PEOPLE}`)?.entryUUID as string;
    expect(uuid('ck1')).toMatch(/^[0-9a-f-]{36}$/);

    await s.delete(`uid=ck1,${PEOPLE}`);
    await s.modify(ldifModify(`uid=ck2,${PEOPLE}`, [{ op: 'replace', attribute: 'cn', values: ['ck two'] }]));

    const second = await run([...args, '--mode', 'refreshOnly']);
    expect(second.code).toBe(0);
    const printed = second.stdout.trimEnd().split('\n');
    expect(printed[0]).toBe(`delete   (DN unknown without --store)  {${uuid('ck1')}}`);
    // the modified entry, whole, as an add: its old values are unknown
    expect(printed[1]).toBe(`add      uid=ck2,${PEOPLE}  {${uuid('ck2')}}`);
    expect(printed.slice(2, -1).sort()).toEqual(
      ['    + cn: ck two', '    + objectClass: inetOrgPerson', '    + sn: ck', '    + uid: ck2'].sort(),
    );
    expect(printed.at(-1)).toBe('ready    (the replica equals the directory)');
    expect(second.stderr.match(/^syncrepl-rx: .*$/gm)).toEqual([
      expect.stringMatching(
        /resuming from the cookie in .*honest\.cookie without --store.*changed meanwhile .*prints as add, without old values.*delete made meanwhile by its entryUUID alone/,
      ),
    ]);

    // NDJSON and LDIF say the same; a delete known by its DN (a live one) has it
    await s.delete(`uid=ck3,${PEOPLE}`);
    const json = await run([...args, '--mode', 'refreshOnly', '--format', 'ndjson']);
    expect(lines(json.stdout)[0]).toEqual({ type: 'delete', entryUUID: uuid('ck3'), dn: null });
    await s.delete(`uid=ck2,${PEOPLE}`);
    const ldif = await run([...args, '--mode', 'refreshOnly', '-LLL']);
    expect(ldif.stdout).toBe(`# delete: entryUUID ${uuid('ck2')} (DN unknown without --store)\n\n`);
    // --messages prints what the server sends: nothing to warn about
    const raw = await run([...args, '--mode', 'refreshOnly', '--messages']);
    expect([raw.code, raw.stderr]).toEqual([0, '']);
  });

  test('--reconnect: stderr says once that the connection is lost and once that it is back, naming the server', async () => {
    const cli = startCli([...common, '--reconnect', '--format', 'ndjson', '(uid=user000007)']);
    await cli.waitFor(({ stdout }) => stdout.includes('"type":"ready"'));
    await s.stop();
    await cli.waitFor(({ stderr }) => stderr.includes('lost the connection'));
    await s.start();
    await cli.waitFor(({ stderr }) => stderr.includes('reconnected'));
    await s.modify(ldifModify(personDn(7), [{ op: 'replace', attribute: 'title', values: ['Back'] }]));
    await cli.waitFor(({ stdout }) => stdout.includes('"Back"'));
    const r = await cli.stop();
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        new RegExp(`^syncrepl-rx: lost the connection to ${s.url} \\(.+\\); reconnecting$`),
      ),
      `syncrepl-rx: reconnected to ${s.url}; resuming`,
    ]);
  });

  test('--store of another search is refused (exit 3) and left as it is; --start-over discards it; its files are 0600', async () => {
    const store = join(s.dir, 'refused-store');
    const args = [...common, '--mode', 'refreshOnly', '--format', 'ndjson', '--store', store];
    const first = await run([...args, '(uid=user00000[12])', 'cn']);
    expect(first.code).toBe(0);
    for (const name of ['data.mdb', 'lock.mdb']) expect(statSync(join(store, name)).mode & 0o777).toBe(0o600);
    expect(statSync(store).mode & 0o777).toBe(0o700);

    const other = await run([...args, '(uid=user000003)']);
    expect([other.code, other.stdout]).toEqual([3, '']);
    expect(other.stderr).toBe(
      `syncrepl-rx: --store ${store} holds the replica of another search (filter "(uid=user00000[12])", not ` +
        '"(uid=user000003)"; attributes "cn", not "*"): use another directory, or add --start-over to discard it\n',
    );
    // untouched: the same search resumes it (nothing changed meanwhile)
    const same = await run([...args, '(uid=user00000[12])', 'cn']);
    expect(lines(same.stdout).map((c) => c.type)).toEqual(['ready']);

    // a store of an earlier version, readable by others, is made 0600 on the next run
    for (const name of ['data.mdb', 'lock.mdb']) chmodSync(join(store, name), 0o644);
    const over = await run([...args, '--start-over', '(uid=user000003)']);
    expect(over.code).toBe(0);
    expect(lines(over.stdout).map((c) => c.type)).toEqual(['reset', 'add', 'ready']);
    for (const name of ['data.mdb', 'lock.mdb']) expect(statSync(join(store, name)).mode & 0o777).toBe(0o600);
  });
});
