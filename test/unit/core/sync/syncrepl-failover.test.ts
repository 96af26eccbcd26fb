/**
 * What `syncrepl()` sends and where it goes, against scripted TCP peers: the Sync Request
 * cookie never carries the sid of the server that sent it (and carries a configured serverId),
 * a URL list moves to the next server on a refused connection, a busy server, a lost healthy
 * connection or a silent one (the idle probe), and backs off only when every URL failed in turn.
 * The protocol claims behind this (originator suppression in syncprov) are proven against real
 * slapd in test/integration/topology-core.test.ts.
 */
import { firstValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  memoryCookieStore,
  syncrepl,
  type SyncStatus,
  type SyncreplOptions,
} from '@syncrepl-rx/core';
import { requestCookie } from '../../../../packages/core/src/protocol/cookie.js';
import {
  bindResponse,
  fakeServer,
  ldapResult,
  message,
  searchDone,
  str,
  tlv,
  type FakeRequest,
} from '../../../fixtures/fake-ldap.js';
import { record } from '../../../fixtures/record.js';

const CSN1 = '20240101120000.000000Z#000000#001#000000';
const CSN2 = '20240101120001.000000Z#000000#002#000000';
const SYNC_INFO_OID = '1.3.6.1.4.1.4203.1.9.1.4';
const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';

/** A Sync Info refreshDelete with refreshDone TRUE (RFC 4533 §2.5), with a cookie. */
const refreshDone = (id: number, cookie: string) =>
  message(id, tlv(0x79, str(SYNC_INFO_OID, 0x80), str(tlv(0xa1, str(cookie)), 0x81)));

const peers: { close(): Promise<void> }[] = [];

type Request = FakeRequest;
type Answer = (req: Request) => Buffer | undefined;

/** A scripted LDAP peer (test/fixtures/fake-ldap.ts) that keeps every request's bytes. */
async function peer(answer: Answer) {
  const requests: Request[] = [];
  const server = await fakeServer((req) => {
    requests.push(req);
    return answer(req);
  });
  const self = {
    ...server,
    requests,
    searches: () => requests.filter((r) => r.tag === 0x63),
  };
  peers.push(self);
  return self;
}

/** Answers bind, a persistent search (refresh done at once) and WhoAmI; `hang` stops answering. */
function provider(options: { searchResult?: number; hang?: () => boolean } = {}): Answer {
  return (req) => {
    if (options.hang?.()) return undefined;
    if (req.tag === 0x60) return bindResponse(req.id);
    if (req.tag === 0x63) {
      if (options.searchResult !== undefined) return searchDone(req.id, options.searchResult);
      return refreshDone(req.id, `rid=000,sid=001,csn=${CSN1}`);
    }
    if (req.tag === 0x77) return message(req.id, tlv(0x78, ldapResult(0)));
    return undefined;
  };
}

/** A URL nothing listens on (refused). */
async function deadUrl(): Promise<string> {
  const p = await peer(() => undefined);
  await p.close();
  return p.url;
}

afterEach(async () => {
  for (const p of peers.splice(0)) await p.close();
});

function follow(options: Partial<SyncreplOptions> & Pick<SyncreplOptions, 'url'>) {
  const statuses: SyncStatus[] = [];
  const warnings: string[] = [];
  const rec = record(
    syncrepl({
      base: 'dc=x',
      timeout: 2000,
      ...options,
      onStatus: (s) => statuses.push(s),
      logger: { warn: (m) => warnings.push(m) },
    }),
  );
  return { rec, statuses, warnings };
}

/** The statuses as `state url` lines (backoff without a url), without the `closed` of an unsubscribe. */
const trail = (statuses: SyncStatus[]) =>
  statuses.filter((s) => s.state !== 'closed').map((s) => ('url' in s ? `${s.state} ${s.url}` : s.state));

describe('the Sync Request cookie', () => {
  /** The cookie bytes of the one search a refreshOnly syncrepl() sends, as latin1 text. */
  async function sentCookie(options: Partial<SyncreplOptions>): Promise<string> {
    const p = await peer((req) =>
      req.tag === 0x60 ? bindResponse(req.id) : req.tag === 0x63 ? searchDone(req.id, 0) : undefined,
    );
    await firstValueFrom(
      syncrepl({ url: p.url, base: 'dc=x', mode: 'refreshOnly', ...options }).pipe(toArray()),
    );
    const [search] = p.searches();
    return search!.bytes.toString('latin1');
  }

  it('never carries the sid of the server that sent the cookie', async () => {
    const sent = await sentCookie({ cookie: `rid=000,sid=001,csn=${CSN1};${CSN2}` });
    expect(sent).toContain(`rid=000,csn=${CSN1};${CSN2}`);
    expect(sent).not.toContain('sid=');
  });

  it('strips the sid of a cookie loaded from a cookie store, and leaves the stored cookie alone', async () => {
    const stored = `rid=000,sid=002,csn=${CSN1}`;
    const store = memoryCookieStore(stored);
    const sent = await sentCookie({ cookieStore: store });
    expect(sent).toContain(`rid=000,csn=${CSN1}`);
    expect(sent).not.toContain('sid=');
    expect(store.cookie).toBe(stored);
  });

  it('carries a configured serverId as 3 hex digits after the rid, as slapd’s consumer writes it', async () => {
    expect(await sentCookie({ cookie: `rid=000,sid=001,csn=${CSN1}`, serverId: 26 })).toContain(
      `rid=000,sid=01a,csn=${CSN1}`,
    );
    // without a cookie: a full refresh that still names this consumer
    const fresh = await sentCookie({ serverId: 4095 });
    expect(fresh).toContain('rid=000,sid=fff');
    expect(fresh).not.toContain('csn=');
  });

  it('sends no cookie at all when there is none and no serverId', async () => {
    expect(await sentCookie({})).not.toContain('rid=');
  });

  it('refuses a serverId outside 1..4095 and an empty URL list', async () => {
    for (const serverId of [0, 4096, 1.5, -1]) {
      await expect(
        firstValueFrom(syncrepl({ url: 'ldap://127.0.0.1:1', base: 'dc=x', serverId })),
      ).rejects.toThrow(InvalidOptionsError);
    }
    await expect(firstValueFrom(syncrepl({ url: [], base: 'dc=x' }))).rejects.toThrow(/at least one server/);
  });
});

describe('requestCookie', () => {
  it.each([
    ['drops the sid', `rid=000,sid=001,csn=${CSN1}`, undefined, `rid=000,csn=${CSN1}`],
    [
      'keeps delcsn',
      `rid=000,sid=001,csn=${CSN1},delcsn=${CSN1}`,
      undefined,
      `rid=000,csn=${CSN1},delcsn=${CSN1}`,
    ],
    ['keeps a cookie without a sid', `rid=123,csn=${CSN1}`, undefined, `rid=123,csn=${CSN1}`],
    ['replaces the sid with ours', `rid=000,sid=001,csn=${CSN1}`, 2, `rid=000,sid=002,csn=${CSN1}`],
    ['a bare rid (empty database)', 'rid=000,sid=001', undefined, 'rid=000'],
    ['no cookie, no serverId', undefined, undefined, undefined],
    ['no cookie, a serverId', undefined, 3, 'rid=000,sid=003'],
    ['an opaque cookie is left alone', 'changenumber=42,sid=1', undefined, 'changenumber=42,sid=1'],
    [
      'a cookie with a field we do not know',
      `rid=000,sid=001,csn=${CSN1},x=1`,
      undefined,
      `rid=000,csn=${CSN1},x=1`,
    ],
  ])('%s', (_what, cookie, serverId, expected) => {
    expect(requestCookie(cookie, serverId)).toBe(expected);
  });
});

describe('a URL list', () => {
  it('without reconnect, the first connection tries the URLs in turn (as ldapsearch -H does)', async () => {
    const dead = await deadUrl();
    const b = await peer(provider());
    const { rec, statuses } = follow({ url: [dead, b.url] });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    expect(trail(statuses)).toEqual([
      `connecting ${dead}`,
      `connecting ${b.url}`,
      `refreshing ${b.url}`,
      `persisting ${b.url}`,
    ]);
    rec.unsubscribe();
  });

  it('without reconnect, a failure after something was delivered ends the stream', async () => {
    const a = await peer(provider());
    const b = await peer(provider());
    const { rec, statuses } = follow({ url: [a.url, b.url] });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    a.drop();
    await rec.ended();
    expect(rec.error).toBeDefined();
    expect(b.requests).toEqual([]);
  });

  it('a lost healthy connection moves to the next URL at once; backoff only after every URL failed in turn', async () => {
    const a = await peer(provider());
    const dead = await deadUrl();
    const { rec, statuses, warnings } = follow({
      url: [a.url, dead],
      reconnect: { initialDelay: 1, maxDelay: 1 },
      random: () => 0,
    });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    await a.close(); // the connection drops, and a refuses from now on
    await rec.until(() => statuses.filter((s) => s.state === 'backoff').length >= 3);
    rec.unsubscribe();
    const after = trail(statuses).slice(3); // after connecting, refreshing, persisting on a
    expect(after.slice(0, 7)).toEqual([
      `connecting ${dead}`, // at once: no backoff after a healthy connection
      'backoff', // a and dead both failed: one round
      `connecting ${a.url}`,
      `connecting ${dead}`,
      'backoff',
      `connecting ${a.url}`,
      `connecting ${dead}`,
    ]);
    expect(warnings[0]).toMatch(new RegExp(`Trying ${dead} next`));
  });

  it('a completed refresh resets the round: failures before it do not count', async () => {
    const dead = await deadUrl();
    const b = await peer(provider());
    const { rec, statuses } = follow({ url: [dead, b.url], reconnect: { initialDelay: 1 }, random: () => 0 });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    b.drop(); // lost after a refresh: the next URL (dead) at once, then b again after a backoff
    await rec.until(() => statuses.filter((s) => s.state === 'persisting').length >= 2);
    rec.unsubscribe();
    expect(trail(statuses)).toEqual([
      `connecting ${dead}`,
      `connecting ${b.url}`,
      `refreshing ${b.url}`,
      `persisting ${b.url}`,
      `connecting ${dead}`,
      'backoff',
      `connecting ${b.url}`,
      `refreshing ${b.url}`,
      `persisting ${b.url}`,
    ]);
    // `attempt` counts the failures since the last completed refresh
    expect(statuses.filter((s) => s.state === 'connecting').map((s) => 'attempt' in s && s.attempt)).toEqual([
      0, 1, 1, 2,
    ]);
    // and `error` is the failure that led to the attempt: refused by dead, then b's lost connection
    const errors = statuses.map((s) => (s.state === 'connecting' ? (s.error?.code ?? 'none') : undefined));
    expect(errors.filter((e) => e !== undefined)).toEqual(['none', 'CONNECTION', 'CONNECTION', 'CONNECTION']);
    const messages = statuses.map((s) => (s.state === 'connecting' ? s.error?.message : undefined));
    expect(messages.filter((m) => m !== undefined)).toEqual([
      expect.stringMatching(/refused/),
      expect.stringMatching(/closed by the server/),
      expect.stringMatching(/refused/),
    ]);
  });

  it.each([
    [51, 'busy'],
    [52, 'unavailable'],
    [53, 'unwillingToPerform'],
  ])('a search answered %i (%s) moves to the next URL', async (code, name) => {
    const a = await peer(provider({ searchResult: code }));
    const b = await peer(provider());
    const { rec, statuses, warnings } = follow({ url: [a.url, b.url], reconnect: true });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    rec.unsubscribe();
    expect(trail(statuses).at(-1)).toBe(`persisting ${b.url}`);
    expect(warnings[0]).toMatch(new RegExp(`${name} \\(${code}\\).*Trying ${b.url} next`));
  });

  it('the status and the logs name the server as parsed: scheme, host and port only', async () => {
    const a = await peer(provider());
    const { rec, statuses } = follow({ url: `${a.url}/dc=x??sub` });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    rec.unsubscribe();
    expect(statuses.filter((s) => 'url' in s).map((s) => 'url' in s && s.url)).toEqual([a.url, a.url, a.url]);
  });
});

describe('the idle probe', () => {
  it('a server that stops answering is found by a WhoAmI without answer, and the next URL is used', async () => {
    let hung = false;
    const a = await peer(provider({ hang: () => hung }));
    const b = await peer(provider());
    const { rec, statuses, warnings } = follow({
      url: [a.url, b.url],
      reconnect: true,
      idleProbe: 50,
      timeout: 300,
    });
    await rec.until(() => statuses.some((s) => s.state === 'persisting'));
    hung = true; // the process is stopped: the socket stays open, nothing answers
    await rec.until(() => statuses.some((s) => s.state === 'persisting' && s.url === b.url));
    rec.unsubscribe();
    const probes = a.requests.filter((r) => r.tag === 0x77);
    expect(probes.length).toBeGreaterThanOrEqual(1);
    expect(probes[0]!.bytes.toString('latin1')).toContain(WHO_AM_I_OID);
    expect(warnings[0]).toMatch(
      /No answer from .* within 300 ms while waiting for the answer to an idle probe/,
    );
  });

  it('a server that answers the probe is kept', async () => {
    const a = await peer(provider());
    const b = await peer(provider());
    const { rec, statuses } = follow({ url: [a.url, b.url], reconnect: true, idleProbe: 20, timeout: 300 });
    await rec.until(() => a.requests.filter((r) => r.tag === 0x77).length >= 5);
    rec.unsubscribe();
    expect(trail(statuses)).toEqual([`connecting ${a.url}`, `refreshing ${a.url}`, `persisting ${a.url}`]);
    expect(b.requests).toEqual([]);
  });

  it('refuses an idleProbe that is not a positive number of milliseconds', async () => {
    for (const idleProbe of [0, -5, Number.NaN, Infinity]) {
      await expect(
        firstValueFrom(syncrepl({ url: 'ldap://127.0.0.1:1', base: 'dc=x', idleProbe })),
      ).rejects.toThrow(/idleProbe/);
    }
  });
});
