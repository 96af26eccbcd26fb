/**
 * The synthetic stream of the browser benchmarks: SubMan-shaped subscriber bodies, with the same
 * event shapes and cookie sizes as the real server's, built once per size.
 */

const REALMS = ['example.org', 'example.net', 'isp.example', 'campus.example'];
const NAMES = ['Ada Lovelace', 'Grace Hopper', 'Alan Turing', 'Edsger Dijkstra', 'Barbara Liskov'];
const STATUSES = ['active', 'active', 'active', 'suspended', 'disabled'];
/** As long as a real resume cookie of our server (base64url JSON + MAC). */
export const REPLAY_COOKIE = `${Buffer.from(JSON.stringify({ src: 'x'.repeat(12), view: 'y'.repeat(12), inst: 'z'.repeat(22), seq: 1, replay: true })).toString('base64url')}.${'m'.repeat(22)}`;

export function uuid(i: number): string {
  const hex = i.toString(16).padStart(12, '0');
  return `7a05${hex.slice(0, 4)}-7a05-1041-9a0a-${hex}`;
}

/** Subscriber `i`, with `extra` fields merged in (a live change). */
export function subscriber(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const realm = REALMS[i % REALMS.length]!;
  const id = `sub${String(i).padStart(6, '0')}`;
  return {
    id,
    realmId: realm,
    name: NAMES[i % NAMES.length],
    email: `${id}@${realm}`,
    phone: `+1 555 ${String(i % 10_000).padStart(4, '0')}`,
    status: STATUSES[i % STATUSES.length],
    profile: ['100M', '500M', '1G'][i % 3],
    groups: i % 2 ? ['gold', 'staff'] : ['silver'],
    _url: `/realm/${realm}/subscriber/${id}`,
    ...extra,
  };
}

/** The SSE text of one `entry` event. */
export function entryEvent(syncOp: string, i: number, body: Record<string, unknown>, id: string): string {
  return `event: entry\nid: ${id}\ndata: ${JSON.stringify({ entryUUID: uuid(i), syncOp, body })}\n\n`;
}

/** The SSE text of a full replay of `n` subscribers, ending with `ready` (id `ready-<n>`). */
const replays = new Map<number, Buffer>();
export function replay(n: number): Buffer {
  let buffer = replays.get(n);
  if (buffer) return buffer;
  const parts: string[] = ['retry: 2000\n\n'];
  for (let i = 0; i < n; i++) parts.push(entryEvent('present', i, subscriber(i), REPLAY_COOKIE));
  parts.push(`event: ready\nid: ready-${n}\ndata: {}\n\n`);
  buffer = Buffer.from(parts.join(''));
  replays.set(n, buffer);
  return buffer;
}
