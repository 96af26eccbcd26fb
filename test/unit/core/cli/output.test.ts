/**
 * The CLI's fast output paths (packages/core/src/cli/output.ts, cli/format.ts,
 * protocol/record-json.ts): NDJSON written straight from entry records must be byte for byte what
 * JSON.stringify of the decoded change gives, for hostile values too; ChunkedOutput must deliver
 * every byte in order, pause the LDAP side while a slow reader catches up, and flush on demand.
 * test/integration/cli.test.ts runs the built CLI against slapd (a stalled pipe, `| head -1`,
 * Ctrl-C); this file covers the pieces.
 */
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';
import {
  changeToJson,
  messageJson,
  messageToJson,
  writeChange,
  type FormatOptions,
} from '../../../../packages/core/src/cli/format.js';
import { ChunkedOutput } from '../../../../packages/core/src/cli/output.js';
import { ldifChange } from '../../../../packages/core/src/cli/ldif.js';
import { toBytes, writeRecordAttributesJson } from '../../../../packages/core/src/protocol/record-json.js';
import { BerWriter, OCTET_STRING, SEQUENCE, SET } from '../../../../packages/core/src/protocol/ber.js';
import { berToRecord } from '../../../../packages/core/src/protocol/record.js';
import { encodeEntryRecord, entryRecord, recordEntry } from '../../../../packages/core/src/stores/codec.js';
import { FlowControl } from '../../../../packages/core/src/sync/flow.js';
import { encodeFilter } from '../../../../packages/core/src/protocol/ldapjs.js';
import type { Attributes, SyncMessage } from '../../../../packages/core/src/sync/messages.js';
import type { AddChange, Change } from '../../../../packages/core/src/replica/changes.js';

const UUID = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const options = { format: 'ndjson' as const, persist: false, ldif: { wrap: 78, level: 0 } };

/** An add change whose entry is still its record, as replicate() makes them. */
function addFromRecord(record: string, dn: string): AddChange {
  return { type: 'add', entryUUID: UUID, dn, entry: recordEntry(record, UUID, dn) } as AddChange;
}

/**
 * A ChunkedOutput whose chunks are 8 bytes (every writer must ask for room, and a line is handed
 * on in many chunks) over a stream that keeps what it gets, and what it holds then.
 */
function tinySink(): { sink: ChunkedOutput; text: () => string } {
  const got: Buffer[] = [];
  const keep = new Writable({
    write(chunk: Buffer, _encoding, done) {
      got.push(Buffer.from(chunk));
      done();
    },
  });
  const sink = new ChunkedOutput(keep, new FlowControl(), 8);
  return {
    sink,
    text: () => Buffer.concat([...got, sink.buf.subarray(0, sink.used)]).toString('latin1'),
  };
}

/** What the CLI writes for a change, as a byte string (one character per byte). */
function formatChangeBytes(change: Change, options: FormatOptions): string {
  const { sink, text } = tinySink();
  writeChange(change, options, sink);
  const out = text();
  sink.used = 0;
  return out;
}

/** Whether the attributes of `record` take the fast path (written from the record). */
function fromRecord(record: string): boolean {
  const { sink } = tinySink();
  sink.append('x');
  const ok = writeRecordAttributesJson(record, sink);
  if (!ok) expect(sink.used).toBe(1); // nothing of it left behind
  sink.used = 0;
  return ok;
}

/** What the slow path prints: JSON.stringify of the decoded change, as UTF-8 bytes in a byte string. */
function reference(change: Change): string {
  return toBytes(`${JSON.stringify(changeToJson(change))}\n`);
}

const hostile: Attributes = {
  objectClass: ['top', 'person'],
  cn: ['Bjørn "the \\ quoted" Łukasz', '日本語 テキスト', 'emoji 🎉 pair'],
  description: ['line\nbreak\ttab\rreturn\u0000nul\u001besc\u007fdel\u0008\u000c', '', '\u2028\u2029'],
  sn: ['</script><script>alert(1)</script>'],
  jpegPhoto: [new Uint8Array([0, 1, 2, 0xff, 0xfe])],
  empty: [],
  'x-attr;lang-en': ['tagged'],
};

describe('NDJSON from entry records (record-json.ts)', () => {
  test('an add whose entry is its record prints exactly what JSON.stringify of the decoded change prints', () => {
    const dn = 'cn=Bjørn "x"\\, y,ou=people,dc=example,dc=com';
    const record = encodeEntryRecord({ dn, attributes: hostile });
    const change = addFromRecord(record, dn);
    expect(fromRecord(record)).toBe(true); // the fast path is taken...
    const fast = formatChangeBytes(change, options);
    expect(entryRecord(change.entry)).toBe(record); // ...without decoding the entry
    expect(fast).toBe(reference(change));
    const parsed = JSON.parse(Buffer.from(fast, 'latin1').toString('utf8')) as Record<string, unknown>;
    expect(parsed.attributes).toMatchObject({
      cn: hostile.cn,
      jpegPhoto: [{ base64: 'AAEC//4=' }],
      empty: [],
    });
  });

  test('a text value that is not UTF-8 prints as base64, as the decoder makes it bytes', () => {
    const ber = new BerWriter()
      .bytes(OCTET_STRING, 'cn=x')
      .start(SEQUENCE)
      .start(SEQUENCE)
      .bytes(OCTET_STRING, 'description')
      .start(SET)
      .bytes(OCTET_STRING, new Uint8Array([0x41, 0xff, 0x42]))
      .bytes(OCTET_STRING, new Uint8Array([0xc3, 0xa9]))
      .end()
      .end()
      .end()
      .toBuffer();
    const change = addFromRecord(berToRecord(ber), 'cn=x');
    const fast = formatChangeBytes(change, options);
    expect(fast).toBe(reference(change));
    expect(fast).toContain('"description":[{"base64":"Qf9C"},"\u00c3\u00a9"]');
  });

  test('what the decoder treats specially takes the decoding path, with the same output', () => {
    const cases: Attributes[] = [
      { cn: ['a'], CN: ['b'] }, // two spellings of one name: the decoder merges them
      { '1': ['numeric name'], cn: ['c'] }, // an array-index key reorders an object
      JSON.parse('{"__proto__":["own"],"cn":["d"]}') as Attributes, // an own __proto__ key
    ];
    for (const attributes of cases) {
      const record = encodeEntryRecord({ dn: 'cn=y', attributes });
      expect(fromRecord(record)).toBe(false);
      const change = addFromRecord(record, 'cn=y');
      expect(formatChangeBytes(change, options)).toBe(reference(change));
    }
    // Printed, not dropped (an assignment of __proto__ would have set a prototype instead).
    const own = addFromRecord(encodeEntryRecord({ dn: 'cn=y', attributes: cases[2]! }), 'cn=y');
    expect(formatChangeBytes(own, options)).toContain('"attributes":{"__proto__":["own"],"cn":["d"]}');
  });

  test('an entry whose attributes were read or assigned prints from its attributes', () => {
    const record = encodeEntryRecord({ dn: 'cn=z', attributes: { cn: ['z'] } });
    const change = addFromRecord(record, 'cn=z');
    change.entry.attributes = { cn: ['changed'] };
    expect(entryRecord(change.entry)).toBeUndefined();
    expect(formatChangeBytes(change, options)).toBe(reference(change));
    expect(formatChangeBytes(change, options)).toContain('"changed"');
  });

  test('messageJson is JSON.stringify(messageToJson(message)), key order and absent fields included', () => {
    const messages: SyncMessage[] = [
      { type: 'add', dn: 'cn=é', entryUUID: UUID, attributes: hostile, cookie: 'rid=001,csn=x' },
      { type: 'present', dn: 'cn=p', entryUUID: UUID, attributes: {} },
      { type: 'delete', dn: 'cn=d', entryUUID: UUID, cookie: undefined } as SyncMessage,
      { type: 'syncIdSet', refreshDeletes: true, entryUUIDs: [UUID, UUID] },
      { type: 'done', refreshDeletes: false },
    ];
    for (const m of messages) expect(messageJson(m)).toBe(JSON.stringify(messageToJson(m)));
  });

  test('the default filter is encoded without ldapjs, as ldapjs encodes it', () => {
    expect(encodeFilter('(objectClass=*)').toString('hex')).toBe('870b6f626a656374436c617373');
    // Any other spelling goes through the parser and gives the same present filter.
    expect(encodeFilter('(objectclass=*)').toString('hex')).toBe('870b6f626a656374636c617373');
  });
});

/** A Writable that accepts `highWaterMark` bytes, then takes `delayMs` per chunk: a slow pipe. */
function slowSink(highWaterMark: number, delayMs: number) {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      setTimeout(callback, delayMs);
    },
  });
  return { sink, chunks };
}

describe('LDIF from entry records (cli/ldif.ts)', () => {
  test('an add written from its record is the add written from its decoded attributes, at every wrap', () => {
    const attributes: Attributes = {
      ...hostile,
      userPassword: ['secret'],
      'userCertificate;binary': [new Uint8Array([1, 2, 3])],
      mail: [' leading space', 'trailing space ', ':colon', '<angle', 'x', 'a'.repeat(200)],
    };
    const dn = 'cn=Bjørn,ou=people,dc=example,dc=com';
    for (const wrap of [78, 20, 2, Infinity]) {
      for (const level of [0, 3]) {
        const record = encodeEntryRecord({ dn, attributes });
        const fromRecord = ldifChange(addFromRecord(record, dn), { wrap, level }, (r) => r);
        const decoded = addFromRecord(record, dn);
        void decoded.entry.attributes; // read: the entry is no longer its record
        expect(entryRecord(decoded.entry)).toBeUndefined();
        expect(fromRecord).toBe(ldifChange(decoded, { wrap, level }, (r) => r));
      }
    }
  });
});

describe('ChunkedOutput', () => {
  test('many lines become few writes, in order, every byte there', async () => {
    const { sink, chunks } = slowSink(1 << 20, 0);
    const out = new ChunkedOutput(sink, new FlowControl(), 4096);
    let expected = '';
    for (let i = 0; i < 10_000; i++) {
      const line = `{"n":${i},"v":"é ü ${'x'.repeat(i % 50)}"}\n`;
      expected += line;
      out.write(line);
    }
    out.flush();
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected);
    expect(chunks.length).toBeLessThan(10_000 / 20);
  });

  test('held text goes out at the end of the event-loop turn, without a flush', async () => {
    const { sink, chunks } = slowSink(1 << 20, 0);
    const out = new ChunkedOutput(sink, new FlowControl());
    out.write('one line\n');
    expect(chunks).toHaveLength(0);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(Buffer.concat(chunks).toString()).toBe('one line\n');
    expect(out.pending).toBe(0);
  });

  test('a slow reader pauses the flow until it drains, and nothing is lost', async () => {
    const { sink, chunks } = slowSink(1024, 2);
    const flow = new FlowControl();
    const states: boolean[] = [];
    flow.observe((paused) => states.push(paused));
    const out = new ChunkedOutput(sink, flow, 512);
    let expected = '';
    let wrote = 0;
    // The producer writes only while the flow is open, as the LDAP socket does.
    while (wrote < 2000) {
      if (flow.paused) {
        await new Promise<void>((resolve) => {
          const stop = flow.observe((paused) => {
            if (!paused) {
              queueMicrotask(() => stop());
              resolve();
            }
          });
        });
        continue;
      }
      const line = `line ${wrote++} ${'y'.repeat(40)}\n`;
      expected += line;
      out.write(line);
    }
    out.flush();
    await new Promise<void>((resolve) => sink.end(resolve));
    expect(Buffer.concat(chunks).toString()).toBe(expected);
    expect(states.filter((p) => p).length).toBeGreaterThan(0); // it did pause...
    expect(states.at(-1)).toBe(false); // ...and resumed
    expect(sink.writableHighWaterMark).toBe(1024);
  });

  test('flushSync writes what is held straight to a file descriptor', async () => {
    const { mkdtempSync, openSync, closeSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const file = join(mkdtempSync(join(tmpdir(), 'cli-output-')), 'out');
    const fd = openSync(file, 'w');
    const { sink } = slowSink(1 << 20, 0);
    const out = new ChunkedOutput(sink, new FlowControl());
    out.write('held 1\n');
    out.write('held ü\n');
    out.flushSync(fd);
    closeSync(fd);
    expect(readFileSync(file, 'utf8')).toBe('held 1\nheld ü\n');
    expect(out.pending).toBe(0);
  });
});
