/**
 * Decoder state is per connection (packages/core/src/protocol/pdu.ts `LdapDecoder`): two decoders
 * fed interleaved messages each give what a decoder of their own gives, whatever the other one
 * met in between (other binary attributes, hundreds of names, an entry bigger than the scratch).
 */
import { expect, test } from 'vitest';
import {
  LdapDecoder,
  decodeMessage,
  type DecodeOptions,
} from '../../../../packages/core/src/protocol/pdu.js';
import { decodeRecord } from '../../../../packages/core/src/protocol/record.js';
import { searchDone, searchEntry, syncStateControl } from '../../../fixtures/fake-ldap.js';

const UUID = Buffer.alloc(16, 9);

/** What a caller sees of a response: an entry's record as the entry it holds. */
function seen(res: ReturnType<typeof decodeMessage>): unknown {
  if (res.kind !== 'searchEntry' || res.record === undefined) return res;
  const { record, ...rest } = res;
  return { ...rest, fromRecord: decodeRecord(record) };
}

test('two decoders fed interleaved messages each decode as if alone', () => {
  const photo = Buffer.from([0x61, 0x62, 0x63]);
  const a: DecodeOptions = { binaryAttributes: new Set(['photo']), records: true };
  const b: DecodeOptions = { binaryAttributes: new Set(), records: false };
  // A's stream: many distinct names (past a table's 256), a 200 KB entry (past the 64 KB scratch).
  const streamA: Buffer[] = [];
  const streamB: Buffer[] = [];
  for (let i = 0; i < 40; i++) {
    const many: Record<string, (string | Buffer)[]> = { cn: [`a${i}`], photo: [photo] };
    for (let k = 0; k < 10; k++) many[`x-interleave-${i}-${k}`] = [`v${k}`];
    if (i === 20) many.description = ['d'.repeat(200_000)];
    streamA.push(searchEntry(1, `cn=a${i},dc=x`, many, syncStateControl(1, UUID)));
    streamB.push(
      searchEntry(
        7,
        `cn=b${i},dc=y`,
        { objectClass: ['top', 'person'], PHOTO: [photo], Cn: [`b${i}`], cn: ['merged'] },
        syncStateControl(2, UUID, `cookie${i}`),
      ),
    );
  }
  streamA.push(searchDone(1, 0, 'doneA'));
  streamB.push(searchDone(7, 0, 'doneB'));

  const decoderA = new LdapDecoder(a);
  const decoderB = new LdapDecoder(b);
  const gotA: unknown[] = [];
  const gotB: unknown[] = [];
  for (let i = 0; i < streamA.length; i++) {
    const ma = streamA[i]!;
    const mb = streamB[i]!;
    gotA.push(seen(decoderA.decode(ma, 0, ma.length)));
    gotB.push(seen(decoderB.decode(mb, 0, mb.length)));
  }
  expect(gotA).toEqual(streamA.map((m) => seen(decodeMessage(m, 0, m.length, a))));
  expect(gotB).toEqual(streamB.map((m) => seen(decodeMessage(m, 0, m.length, b))));

  // And the contents themselves: A's photo is bytes (declared binary), B's is text; B merges Cn/cn.
  const firstA = gotA[0] as { fromRecord: { attributes: Record<string, unknown[]> } };
  expect(firstA.fromRecord.attributes.photo).toEqual([new Uint8Array(photo)]);
  expect(firstA.fromRecord.attributes['x-interleave-0-9']).toEqual(['v9']);
  const bigA = gotA[20] as { fromRecord: { attributes: Record<string, string[]> } };
  expect(bigA.fromRecord.attributes.description![0]!.length).toBe(200_000);
  const lastB = gotB[39] as { attributes: Record<string, unknown[]>; dn: string };
  expect(lastB.dn).toBe('cn=b39,dc=y');
  expect(lastB.attributes).toEqual({ objectClass: ['top', 'person'], PHOTO: ['abc'], Cn: ['b39', 'merged'] });
  expect(gotB[40]).toMatchObject({ kind: 'searchDone', messageId: 7 });
});
