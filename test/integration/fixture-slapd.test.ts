import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attributeValues,
  binaryValue,
  firstValue,
  ldifEntry,
  ldifModify,
  parseLdif,
  personDn,
  personLdif,
  peopleLdif,
} from '../fixtures/ldif.js';
import { startSlapd, type Slapd } from '../fixtures/slapd.js';

describe('slapd fixture', () => {
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd({ sessionlog: 100, ldif: peopleLdif(3) });
  });
  afterAll(async () => {
    await slapd?.close();
  });

  it('seeds the suffix, the OUs, the reader and the initial LDIF with sid 001 CSNs', async () => {
    const all = await slapd.search(slapd.suffix, 'sub', '(objectClass=*)', ['entryCSN']);
    expect(all.map((e) => e.dn)).toEqual(
      expect.arrayContaining([
        slapd.suffix,
        `ou=people,${slapd.suffix}`,
        `ou=groups,${slapd.suffix}`,
        slapd.readerDN,
      ]),
    );
    expect(all).toHaveLength(7);
    for (const e of all) expect(firstValue(e, 'entryCSN')).toMatch(/#001#000000$/);
  });

  it('adds, modifies and searches back with entryUUID; binary and non-ASCII values survive', async () => {
    const photo = binaryValue(7, 300);
    await slapd.add(
      ldifEntry(personDn(100), {
        ...parseAttrs(personLdif(100)),
        sn: ' Ødegaard ',
        jpegPhoto: photo,
      }),
    );
    await slapd.modify(ldifModify(personDn(100), [{ op: 'replace', attribute: 'title', values: ['Chief'] }]));
    const [e] = await slapd.search(personDn(100), 'base', '(objectClass=*)', ['*', 'entryUUID']);
    expect(e?.dn).toBe(personDn(100));
    expect(firstValue(e!, 'entryUUID')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(firstValue(e!, 'title')).toBe('Chief');
    expect(firstValue(e!, 'sn')).toBe(' Ødegaard ');
    expect(attributeValues(e!, 'jpegPhoto')[0]).toEqual(photo);
  });

  it('binds as the reader and anonymously; only the rootDN sees userPassword', async () => {
    const asReader = await slapd.search(slapd.readerDN, 'base', '(objectClass=*)', ['*'], {
      dn: slapd.readerDN,
      password: slapd.readerPassword,
    });
    expect(asReader[0]?.attributes.userPassword).toBeUndefined();
    const anon = await slapd.search(
      `ou=people,${slapd.suffix}`,
      'one',
      '(uid=user000001)',
      ['uid'],
      'anonymous',
    );
    expect(anon).toHaveLength(1);
    await expect(
      slapd.search(slapd.suffix, 'base', '(objectClass=*)', [], { dn: slapd.readerDN, password: 'wrong' }),
    ).rejects.toThrow(/exited with 49/);
    expect(await slapd.search(`ou=nowhere,${slapd.suffix}`, 'base', '(objectClass=*)')).toEqual([]);
  });

  it('counts connections and executing operations through cn=Monitor (psearch, abandon, close)', async () => {
    expect(await slapd.connectionCount()).toBe(0);
    expect(await slapd.openOperations()).toBe(0);
    // a raw refreshAndPersist search (RFC 4533 control, mode 3) on a socket we control
    const socket = connect(slapd.port, '127.0.0.1');
    await once(socket, 'connect');
    socket.on('data', () => undefined);
    const syncControl = seq(
      str('1.3.6.1.4.1.4203.1.9.1.1'),
      tlv(0x01, [0xff]),
      tlv(0x04, seq(tlv(0x0a, [3]))),
    );
    const request = [str(slapd.suffix), tlv(0x0a, [2]), tlv(0x0a, [0]), tlv(0x02, [0]), tlv(0x02, [0])];
    request.push(tlv(0x01, [0]), tlv(0x87, Buffer.from('objectClass')), seq(str('1.1')));
    socket.write(seq(tlv(0x02, [1]), tlv(0x63, Buffer.concat(request)), tlv(0xa0, syncControl)));
    try {
      await until(async () => (await slapd.openOperations()) === 1);
      const [c, ...more] = await slapd.connections();
      expect(more).toEqual([]);
      expect(c).toMatchObject({ authzDN: '', opsExecuting: 1, listener: `${slapd.url}/` });
      socket.write(seq(tlv(0x02, [2]), tlv(0x50, [1]))); // abandon message 1
      await until(async () => (await slapd.openOperations()) === 0);
      expect(await slapd.connectionCount()).toBe(1);
    } finally {
      socket.destroy();
    }
    await until(async () => (await slapd.connectionCount()) === 0);
  });

  it('keeps data across stop/start (SIGTERM) and a crash (SIGKILL), on the same port', async () => {
    const port = slapd.port;
    const before = await slapd.search(personDn(100), 'base', '(objectClass=*)', ['entryUUID']);
    await slapd.stop();
    expect(slapd.running).toBe(false);
    await expect(slapd.search(slapd.suffix, 'base', '(objectClass=*)')).rejects.toThrow();
    await slapd.start();
    expect(slapd.port).toBe(port);
    expect(await slapd.search(personDn(100), 'base', '(objectClass=*)', ['entryUUID'])).toEqual(before);
    await slapd.stop('SIGKILL');
    await slapd.start();
    expect(await slapd.search(personDn(100), 'base', '(objectClass=*)', ['entryUUID'])).toEqual(before);
  });

  it('close() stops slapd and removes the temp dir', async () => {
    const other = await startSlapd({ withoutSyncprov: true });
    const { dir, pid } = other;
    expect(existsSync(dir)).toBe(true);
    await other.close();
    expect(existsSync(dir)).toBe(false);
    expect(pid).toBeDefined();
    expect(() => process.kill(pid!, 0)).toThrow();
  });
});

describe('slapd fixture with TLS', () => {
  let slapd: Slapd;

  beforeAll(async () => {
    slapd = await startSlapd({ tls: true });
  });
  afterAll(async () => {
    await slapd?.close();
  });

  it('answers on ldaps:// with the generated CA, and StartTLS on ldap://', async () => {
    expect(slapd.ldapsUrl).toMatch(/^ldaps:\/\/127\.0\.0\.1:\d+$/);
    expect(slapd.caPem).toContain('BEGIN CERTIFICATE');
    const args = ['-LLL', '-x', '-b', slapd.suffix, '-s', 'base', 'dc'];
    const ldaps = await slapd.tool('ldapsearch', ['-H', slapd.ldapsUrl!, ...args], {
      env: { LDAPTLS_CACERT: slapd.caFile },
    });
    expect(parseLdif(ldaps.stdout)[0]?.dn).toBe(slapd.suffix);
    const startTls = await slapd.tool('ldapsearch', ['-ZZ', '-H', slapd.url, ...args]);
    expect(parseLdif(startTls.stdout)[0]?.dn).toBe(slapd.suffix);
    // the certificate names localhost too
    const byName = await slapd.tool('ldapsearch', ['-H', `ldaps://localhost:${slapd.ldapsPort}`, ...args]);
    expect(byName.code).toBe(0);
    // without the CA, verification fails
    const untrusted = await slapd.tool('ldapsearch', ['-H', slapd.ldapsUrl!, ...args], {
      env: { LDAPTLS_CACERT: '/dev/null' },
      allowFailure: true,
    });
    expect(untrusted.code).not.toBe(0);
  });

  it('maps the client certificate to the reader with SASL EXTERNAL', async () => {
    const r = await slapd.tool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', slapd.ldapsUrl!], {
      env: { LDAPTLS_CERT: slapd.clientCertFile, LDAPTLS_KEY: slapd.clientKeyFile },
    });
    expect(r.stdout.trim()).toBe(`dn:${slapd.readerDN}`);
    // StartTLS (previous test) and WhoAmI are extended operations
    expect(await slapd.extendedOperationsCompleted()).toBeGreaterThanOrEqual(2);
  });
});

function parseAttrs(ldif: string): Record<string, string[]> {
  const [e] = parseLdif(ldif);
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(e?.attributes ?? {})) out[k] = v.map(String);
  return out;
}

async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await delay(50);
  }
}

/** Minimal BER TLV for the raw search above (short and 2-byte long lengths). */
function tlv(tag: number, content: Buffer | number[]): Buffer {
  const body = Buffer.from(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
function seq(...parts: Buffer[]): Buffer {
  return tlv(0x30, Buffer.concat(parts));
}
function str(s: string): Buffer {
  return tlv(0x04, Buffer.from(s, 'utf8'));
}
