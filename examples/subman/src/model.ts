/**
 * SubMan's resources: 12 kinds of resource on the 15 stream endpoints of the stream contract
 * (docs/stream-contract.md §X1), plus `/subscriber` (every realm's subscribers), all served from
 * one LDAP source (one syncrepl search).
 *
 * The directory tree (suffix dc=subman,dc=example):
 *
 *   ou=realms        submanId=<realm>                      submanRealm
 *                      uid=<subscriber>                    submanSubscriber
 *   ou=groups        cn=<group>                            submanSubscriberGroup
 *   ou=services      submanId=<service>                    submanService
 *                      submanId=<profile>                  submanServiceProfile
 *                        submanId=<policy>                 submanPolicy
 *   ou=clients       submanId=<client>                     submanRadiusClient
 *   ou=accessDevices submanId=<device>                     submanAccessDevice
 *     (both)           submanId=<port>                     submanPhysicalPort
 *                        submanId=<tagging>                submanQinq | submanStag
 *   ou=clientGroups  cn=<group>                            submanClientGroup
 *
 * A resource's parents are the RDN values between its container (`ou=...`) and the entry, so a
 * subscriber re-homed to another realm (a modrdn with newSuperior) changes its `_url`, and the
 * streams show it as a delete on the old realm and an add on the new one.
 */
import { getAttribute, parseDN, type Entry } from '@syncrepl-rx/core';
import type { ResourceDefinition } from '@syncrepl-rx/server';

export const SUFFIX = 'dc=subman,dc=example';
const SUFFIX_DEPTH = parseDN(SUFFIX).length;

export const CONTAINERS = [
  'realms',
  'groups',
  'services',
  'clients',
  'accessDevices',
  'clientGroups',
] as const;
export type Container = (typeof CONTAINERS)[number];

/** Where an entry sits: its container and the RDN values below it, top-down. */
export interface Place {
  container: string;
  path: string[];
}

const places = new WeakMap<Entry, Place | null>();

/** The entry's place in the SubMan tree, or undefined for entries outside the containers. */
export function placeOf(entry: Entry): Place | undefined {
  const hit = places.get(entry);
  if (hit !== undefined) return hit ?? undefined;
  let place: Place | undefined;
  try {
    const rdns = parseDN(entry.dn);
    const below = rdns.slice(0, rdns.length - SUFFIX_DEPTH).reverse();
    const top = below[0]?.[0];
    if (top && top.type.toLowerCase() === 'ou' && below.length > 1) {
      place = { container: top.value, path: below.slice(1).map((rdn) => rdn[0]!.value) };
    }
  } catch {
    place = undefined;
  }
  places.set(entry, place ?? null);
  return place;
}

export function text(entry: Entry, name: string): string | undefined {
  const v = getAttribute(entry.attributes, name)?.[0];
  return typeof v === 'string' ? v : undefined;
}

function texts(entry: Entry, name: string): string[] {
  return (getAttribute(entry.attributes, name) ?? []).filter((v): v is string => typeof v === 'string');
}

function int(entry: Entry, name: string): number | undefined {
  const v = text(entry, name);
  return v === undefined ? undefined : Number(v);
}

function hasClass(entry: Entry, objectClass: string): boolean {
  const want = objectClass.toLowerCase();
  return texts(entry, 'objectClass').some((c) => c.toLowerCase() === want);
}

/** The id (RDN value) at the end of a DN reference such as submanProfile. */
function refId(dn: string): string | undefined {
  try {
    return parseDN(dn)[0]?.[0]?.value;
  } catch {
    return undefined;
  }
}

/** A resource whose entries are of `objectClass`, `depth` levels below `container`. */
function kind(
  name: string,
  path: string,
  container: Container,
  objectClass: string,
  body: (entry: Entry, place: Place) => Record<string, unknown>,
  extra: Partial<ResourceDefinition> = {},
): ResourceDefinition {
  const paramNames = path
    .split('/')
    .filter((s) => s.startsWith(':'))
    .map((s) => s.slice(1));
  const depth = paramNames.length + 1;
  const at = (entry: Entry) => {
    const place = placeOf(entry);
    return place && place.container === container && place.path.length === depth ? place : undefined;
  };
  return {
    name,
    source: 'subman',
    path,
    match: (entry) => at(entry) !== undefined && hasClass(entry, objectClass),
    id: (entry) => at(entry)?.path[depth - 1],
    params: (entry) => {
      const place = at(entry);
      if (!place) return undefined;
      return Object.fromEntries(paramNames.map((p, i) => [p, place.path[i]!]));
    },
    body: (entry) => {
      const place = at(entry)!;
      return { id: place.path[depth - 1], ...body(entry, place) };
    },
    ...extra,
  };
}

const statusFilter = { status: (entry: Entry, value: string) => text(entry, 'submanStatus') === value };

const port = (entry: Entry) => ({
  description: text(entry, 'description'),
  status: text(entry, 'submanStatus'),
  bandwidthDown: int(entry, 'submanBandwidthDown'),
});
const qinq = (entry: Entry) => ({
  outerVlan: int(entry, 'submanOuterVlan'),
  innerVlan: int(entry, 'submanInnerVlan'),
  description: text(entry, 'description'),
});
const stag = (entry: Entry) => ({ vlan: int(entry, 'submanVlan'), description: text(entry, 'description') });

export const resources: ResourceDefinition[] = [
  kind(
    'realm',
    '/realm',
    'realms',
    'submanRealm',
    (e) => ({
      description: text(e, 'description'),
      status: text(e, 'submanStatus'),
    }),
    { filters: statusFilter },
  ),
  kind(
    'subscriber',
    '/realm/:realmId/subscriber',
    'realms',
    'submanSubscriber',
    (e, place) => ({
      realmId: place.path[0],
      name: text(e, 'cn'),
      email: text(e, 'mail'),
      phone: text(e, 'telephoneNumber'),
      status: text(e, 'submanStatus'),
      profile: refId(text(e, 'submanProfile') ?? ''),
      groups: texts(e, 'submanGroup').map(refId).filter(Boolean),
    }),
    {
      filters: {
        ...statusFilter,
        group: (e, value) => texts(e, 'submanGroup').some((dn) => refId(dn) === value),
        profile: (e, value) => refId(text(e, 'submanProfile') ?? '') === value,
      },
    },
  ),
  // Beyond the contract's 15 endpoints (docs/stream-contract.md §X2): every subscriber of every
  // realm, pointing at its realm's item endpoint. A re-homed subscriber changes its _url here too,
  // so this stream shows the move as a delete and an add (a stream "over both" realms).
  {
    ...kind('allSubscribers', '/subscriber', 'realms', 'submanSubscriber', () => ({})),
    match: (e) =>
      placeOf(e)?.container === 'realms' && placeOf(e)?.path.length === 2 && hasClass(e, 'submanSubscriber'),
    id: (e) => placeOf(e)?.path[1],
    params: () => ({}),
    url: (e, id) => `/realm/${encodeURIComponent(placeOf(e)!.path[0]!)}/subscriber/${encodeURIComponent(id)}`,
    body: (e) => ({
      id: placeOf(e)!.path[1],
      realmId: placeOf(e)!.path[0],
      name: text(e, 'cn'),
      status: text(e, 'submanStatus'),
    }),
    filters: { realm: (e, value) => placeOf(e)?.path[0] === value },
  },
  kind('group', '/group', 'groups', 'submanSubscriberGroup', (e) => ({
    description: text(e, 'description'),
    priority: int(e, 'submanPriority'),
  })),
  kind(
    'service',
    '/service',
    'services',
    'submanService',
    (e) => ({
      description: text(e, 'description'),
      status: text(e, 'submanStatus'),
    }),
    { filters: statusFilter },
  ),
  kind('profile', '/service/:serviceId/profile', 'services', 'submanServiceProfile', (e) => ({
    description: text(e, 'description'),
    bandwidthDown: int(e, 'submanBandwidthDown'),
    bandwidthUp: int(e, 'submanBandwidthUp'),
  })),
  kind('policy', '/service/:serviceId/profile/:profileId/policy', 'services', 'submanPolicy', (e) => ({
    description: text(e, 'description'),
    action: text(e, 'submanAction'),
    priority: int(e, 'submanPriority'),
  })),
  kind(
    'client',
    '/client',
    'clients',
    'submanRadiusClient',
    (e) => ({
      description: text(e, 'description'),
      ipAddress: text(e, 'submanIpAddress'),
      vendor: text(e, 'submanVendor'),
      status: text(e, 'submanStatus'),
    }),
    { filters: statusFilter },
  ),
  kind('clientPort', '/client/:clientId/port', 'clients', 'submanPhysicalPort', port, {
    filters: statusFilter,
  }),
  kind('clientPortQinq', '/client/:clientId/port/:portId/qinq', 'clients', 'submanQinq', qinq),
  kind('clientPortStag', '/client/:clientId/port/:portId/stag', 'clients', 'submanStag', stag),
  kind('clientGroup', '/clientGroup', 'clientGroups', 'submanClientGroup', (e) => ({
    description: text(e, 'description'),
    clients: texts(e, 'submanClient').map(refId).filter(Boolean),
  })),
  kind(
    'accessDevice',
    '/accessDevice',
    'accessDevices',
    'submanAccessDevice',
    (e) => ({
      description: text(e, 'description'),
      ipAddress: text(e, 'submanIpAddress'),
      vendor: text(e, 'submanVendor'),
      location: text(e, 'submanLocation'),
      status: text(e, 'submanStatus'),
    }),
    { filters: statusFilter },
  ),
  kind(
    'accessDevicePort',
    '/accessDevice/:accessDeviceId/port',
    'accessDevices',
    'submanPhysicalPort',
    port,
    {
      filters: statusFilter,
    },
  ),
  kind(
    'accessDevicePortQinq',
    '/accessDevice/:accessDeviceId/port/:portId/qinq',
    'accessDevices',
    'submanQinq',
    qinq,
  ),
  kind(
    'accessDevicePortStag',
    '/accessDevice/:accessDeviceId/port/:portId/stag',
    'accessDevices',
    'submanStag',
    stag,
  ),
];
