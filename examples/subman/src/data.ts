/**
 * SubMan sample data as LDIF, deterministic for a given size and seed: a few realms with
 * `subscribers` subscribers spread over them, groups, services with profiles and policies,
 * RADIUS clients and access devices with ports and taggings, and client groups.
 */
import { escapeDNValue } from '@syncrepl-rx/core';
import { SUFFIX } from './model.js';

export interface DataOptions {
  /** Number of subscribers (default 1000). */
  subscribers?: number;
  seed?: number;
}

export const REALMS = ['example.org', 'example.net', 'isp.example', 'campus.example'];
export const GROUPS = ['gold', 'silver', 'bronze', 'business', 'staff'];
export const SERVICES: Record<string, string[]> = {
  internet: ['100M', '500M', '1G'],
  voice: ['basic', 'unlimited'],
  iptv: ['standard', 'premium'],
};
const STATUSES = ['active', 'active', 'active', 'suspended', 'disabled'];
const GIVEN = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'Ken',
  'Radia',
  'Tim',
  'Zoë',
  'Jürgen',
];
const FAMILY = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Thompson',
  'Perlman',
  'Berners-Lee',
];

/** A small deterministic PRNG (mulberry32), so data and change streams are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const dn = {
  realm: (realm: string) => `submanId=${escapeDNValue(realm)},ou=realms,${SUFFIX}`,
  subscriber: (realm: string, uid: string) => `uid=${escapeDNValue(uid)},${dn.realm(realm)}`,
  group: (group: string) => `cn=${escapeDNValue(group)},ou=groups,${SUFFIX}`,
  service: (s: string) => `submanId=${escapeDNValue(s)},ou=services,${SUFFIX}`,
  profile: (s: string, p: string) => `submanId=${escapeDNValue(p)},${dn.service(s)}`,
  policy: (s: string, p: string, q: string) => `submanId=${escapeDNValue(q)},${dn.profile(s, p)}`,
  client: (c: string) => `submanId=${escapeDNValue(c)},ou=clients,${SUFFIX}`,
  device: (d: string) => `submanId=${escapeDNValue(d)},ou=accessDevices,${SUFFIX}`,
  clientGroup: (g: string) => `cn=${escapeDNValue(g)},ou=clientGroups,${SUFFIX}`,
};

function record(
  dnValue: string,
  attrs: Record<string, string | number | (string | number)[] | undefined>,
): string {
  const lines = [ldifLine('dn', dnValue)];
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) lines.push(ldifLine(name, String(v)));
  }
  return lines.join('\n');
}

/** `name: value`, or `name:: base64` when the value is not safe as LDIF text (RFC 2849). */
export function ldifLine(name: string, value: string): string {
  return isSafeLdifString(value)
    ? `${name}: ${value}`
    : `${name}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

/** RFC 2849 SAFE-STRING: ASCII without NUL, CR, LF; not starting with space, colon or "<"; no trailing space. */
function isSafeLdifString(value: string): boolean {
  if (value === '') return true;
  const first = value.charCodeAt(0);
  if (first === 0x20 || first === 0x3a || first === 0x3c || value.endsWith(' ')) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d || c > 0x7f) return false;
  }
  return true;
}

export function subscriberUid(i: number): string {
  return `sub${String(i).padStart(6, '0')}`;
}

export function subscriberRecord(
  i: number,
  realm: string,
  rnd: () => number,
  uid = subscriberUid(i),
): string {
  const given = GIVEN[i % GIVEN.length]!;
  const family = FAMILY[Math.floor(i / GIVEN.length) % FAMILY.length]!;
  const service = 'internet';
  const profiles = SERVICES[service]!;
  const groupCount = Math.floor(rnd() * 3);
  const groups = Array.from({ length: groupCount }, (_, k) => GROUPS[(i + k) % GROUPS.length]!);
  return record(dn.subscriber(realm, uid), {
    objectClass: 'submanSubscriber',
    uid,
    cn: `${given} ${family}`,
    mail: `${uid}@${realm}`,
    telephoneNumber: `+1 555 ${String(i % 10_000).padStart(4, '0')}`,
    submanStatus: STATUSES[Math.floor(rnd() * STATUSES.length)],
    submanProfile: dn.profile(service, profiles[i % profiles.length]!),
    submanGroup: [...new Set(groups)].map(dn.group),
  });
}

/** The whole SubMan tree, below the suffix (the fixture creates the suffix itself). */
export function submanLdif(options: DataOptions = {}): string {
  const subscribers = options.subscribers ?? 1000;
  const rnd = prng(options.seed ?? 1);
  const out: string[] = [];
  for (const ou of ['realms', 'services', 'clients', 'accessDevices', 'clientGroups']) {
    out.push(record(`ou=${ou},${SUFFIX}`, { objectClass: 'organizationalUnit', ou }));
  }
  for (const realm of REALMS) {
    out.push(
      record(dn.realm(realm), {
        objectClass: 'submanRealm',
        submanId: realm,
        description: `Realm ${realm}`,
        submanStatus: 'active',
      }),
    );
  }
  GROUPS.forEach((g, i) =>
    out.push(
      record(dn.group(g), {
        objectClass: 'submanSubscriberGroup',
        cn: g,
        description: `${g} subscribers`,
        submanPriority: i + 1,
      }),
    ),
  );
  for (const [service, profiles] of Object.entries(SERVICES)) {
    out.push(
      record(dn.service(service), {
        objectClass: 'submanService',
        submanId: service,
        description: `The ${service} service`,
        submanStatus: 'active',
      }),
    );
    profiles.forEach((p, i) => {
      out.push(
        record(dn.profile(service, p), {
          objectClass: 'submanServiceProfile',
          submanId: p,
          description: `${service} ${p}`,
          submanBandwidthDown: 100_000 * (i + 1),
          submanBandwidthUp: 20_000 * (i + 1),
        }),
      );
      for (const [j, policy] of ['shaping', 'filtering'].entries()) {
        out.push(
          record(dn.policy(service, p, policy), {
            objectClass: 'submanPolicy',
            submanId: policy,
            submanAction: policy === 'shaping' ? 'rate-limit' : 'drop-bogons',
            submanPriority: j + 1,
          }),
        );
      }
    });
  }
  const devices = (
    kindDn: (n: string) => string,
    names: string[],
    objectClass: string,
    extra: (n: string, i: number) => Record<string, string>,
  ) => {
    names.forEach((name, i) => {
      out.push(
        record(kindDn(name), { objectClass, submanId: name, submanStatus: 'active', ...extra(name, i) }),
      );
      for (let p = 0; p < 4; p++) {
        const portId = `ge-0-0-${p}`;
        const portDn = `submanId=${portId},${kindDn(name)}`;
        out.push(
          record(portDn, {
            objectClass: 'submanPhysicalPort',
            submanId: portId,
            submanStatus: 'active',
            submanBandwidthDown: 1_000_000,
          }),
        );
        for (let q = 0; q < 2; q++) {
          const outer = 100 + p;
          const inner = 200 + q;
          out.push(
            record(`submanId=${outer}.${inner},${portDn}`, {
              objectClass: 'submanQinq',
              submanId: `${outer}.${inner}`,
              submanOuterVlan: outer,
              submanInnerVlan: inner,
            }),
          );
          out.push(
            record(`submanId=${300 + p * 10 + q},${portDn}`, {
              objectClass: 'submanStag',
              submanId: String(300 + p * 10 + q),
              submanVlan: 300 + p * 10 + q,
            }),
          );
        }
      }
    });
  };
  devices(dn.client, ['nas1', 'nas2', 'nas3'], 'submanRadiusClient', (n, i) => ({
    submanIpAddress: `192.0.2.${10 + i}`,
    submanVendor: ['Juniper', 'Cisco', 'Nokia'][i % 3]!,
    description: `BNG ${n}`,
  }));
  devices(dn.device, ['olt1', 'olt2'], 'submanAccessDevice', (n, i) => ({
    submanIpAddress: `198.51.100.${20 + i}`,
    submanVendor: 'Calix',
    submanLocation: ['Exchange North', 'Exchange South'][i]!,
    description: `OLT ${n}`,
  }));
  out.push(
    record(dn.clientGroup('core'), {
      objectClass: 'submanClientGroup',
      cn: 'core',
      submanClient: [dn.client('nas1'), dn.client('nas2')],
    }),
  );
  out.push(
    record(dn.clientGroup('edge'), {
      objectClass: 'submanClientGroup',
      cn: 'edge',
      submanClient: [dn.client('nas3')],
    }),
  );
  for (let i = 0; i < subscribers; i++) out.push(subscriberRecord(i, REALMS[i % REALMS.length]!, rnd));
  return `${out.join('\n\n')}\n`;
}
