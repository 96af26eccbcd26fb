/**
 * Micro-benchmark of the RFC 4533 control codecs (packages/core/src/protocol/controls.ts).
 *
 * The Sync State value is decoded once per entry, so a 100,000-entry refresh must spend
 * well under ~150 ms in it. This prints ns/call for the hand-rolled decoder next to the
 * asn1js reference decoder, and the cost of the rarer values.
 *
 * Run: npx tsx bench/micro-controls.ts   (or any TypeScript runner, e.g. vite-node)
 */
import {
  decodeSyncDoneValue,
  decodeSyncInfoValue,
  decodeSyncStateValue,
  encodeSyncRequestValue,
} from '../packages/core/src/protocol/controls.js';
// The server's side and the asn1js reference decoders are test fixtures.
import {
  decodeSyncInfoValueAsn1,
  decodeSyncStateValueAsn1,
  encodeSyncDoneValue,
  encodeSyncInfoValue,
  encodeSyncStateValue,
} from '../test/fixtures/controls-asn1.js';

const ENTRIES = 100_000;

function uuid(i: number): string {
  const h = (i * 2654435761).toString(16).padStart(8, '0').slice(-8) + i.toString(16).padStart(24, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Runs `fn` over `inputs` `rounds` times after a warm-up; returns ns per call (best round). */
function measure<T>(inputs: T[], fn: (x: T) => unknown, rounds = 7): number {
  let sink = 0;
  for (let w = 0; w < 2; w++) for (const x of inputs) sink += fn(x) === undefined ? 0 : 1;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const x of inputs) sink += fn(x) === undefined ? 0 : 1;
    const ns = Number(process.hrtime.bigint() - t0);
    best = Math.min(best, ns / inputs.length);
  }
  if (sink < 0) console.log(sink);
  return best;
}

const states = ['present', 'add', 'modify', 'delete'] as const;
const plain = Array.from({ length: ENTRIES }, (_, i) =>
  encodeSyncStateValue({ state: states[i % 4]!, entryUUID: uuid(i) }),
);
const cookie = 'rid=001,csn=20240101120000.123456Z#000000#001#000000';
const withCookie = Array.from({ length: ENTRIES }, (_, i) =>
  encodeSyncStateValue({ state: 'modify', entryUUID: uuid(i), cookie }),
);
const idSet = encodeSyncInfoValue({
  kind: 'syncIdSet',
  cookie,
  refreshDeletes: true,
  entryUUIDs: Array.from({ length: 100 }, (_, i) => uuid(i)),
});
const done = encodeSyncDoneValue({ cookie, refreshDeletes: false });
const newcookie = encodeSyncInfoValue({ kind: 'newcookie', cookie });

const rows: [string, number][] = [
  ['decodeSyncStateValue (hand-rolled), no cookie', measure(plain, decodeSyncStateValue)],
  ['decodeSyncStateValue (hand-rolled), with cookie', measure(withCookie, decodeSyncStateValue)],
  ['decodeSyncStateValueAsn1 (asn1js), no cookie', measure(plain.slice(0, 20_000), decodeSyncStateValueAsn1)],
  [
    'decodeSyncStateValueAsn1 (asn1js), with cookie',
    measure(withCookie.slice(0, 20_000), decodeSyncStateValueAsn1),
  ],
  [
    'decodeSyncInfoValue (hand-rolled) newcookie',
    measure(Array(10_000).fill(newcookie), decodeSyncInfoValue),
  ],
  [
    'decodeSyncInfoValue (hand-rolled) syncIdSet of 100 UUIDs',
    measure(Array(1_000).fill(idSet), decodeSyncInfoValue),
  ],
  [
    'decodeSyncInfoValueAsn1 (asn1js) syncIdSet of 100 UUIDs',
    measure(Array(300).fill(idSet), decodeSyncInfoValueAsn1),
  ],
  ['decodeSyncDoneValue', measure(Array(10_000).fill(done), decodeSyncDoneValue)],
  [
    'encodeSyncRequestValue (refreshAndPersist + cookie)',
    measure(Array(10_000).fill(cookie), (c: string) =>
      encodeSyncRequestValue({ mode: 'refreshAndPersist', cookie: c }),
    ),
  ],
];

console.log(`node ${process.version}`);
for (const [name, ns] of rows) {
  console.log(`${name.padEnd(56)} ${ns.toFixed(0).padStart(8)} ns/call`);
}
const ms = (row: number, calls: number): string => ((rows[row]![1] * calls) / 1e6).toFixed(1);
console.log(
  `\n${ENTRIES.toLocaleString('en')} entries (budget: well under 150 ms):` +
    `\n  as Sync State values:        ${ms(0, ENTRIES)} ms hand-rolled, ${ms(2, ENTRIES)} ms asn1js` +
    `\n  as syncIdSets of 100 UUIDs:  ${ms(5, ENTRIES / 100)} ms hand-rolled, ${ms(6, ENTRIES / 100)} ms asn1js`,
);
