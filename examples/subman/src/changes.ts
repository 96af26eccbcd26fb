/**
 * Realistic live changes to SubMan's directory, as LDIF change records (RFC 2849) for
 * ldapmodify: status and profile changes, new and removed subscribers, renames (a new uid) and
 * re-homing to another realm (modrdn with newSuperior), and port changes.
 */
import { escapeDNValue } from '@syncrepl-rx/core';
import { REALMS, SERVICES, dn, prng, subscriberRecord, subscriberUid } from './data.js';
import { SUFFIX } from './model.js';

export interface GeneratedChange {
  kind: 'status' | 'profile' | 'add' | 'delete' | 'rename' | 'rehome' | 'port';
  ldif: string;
  summary: string;
}

export class ChangeGenerator {
  private readonly rnd: () => number;
  /** Live subscribers: uid → realm. */
  private readonly live = new Map<string, string>();
  private next: number;
  private renames = 0;

  /** `keep`: uids the generator never touches (e.g. the one a printed example changes). */
  constructor(subscribers: number, seed = 42, keep: readonly string[] = []) {
    this.rnd = prng(seed);
    for (let i = 0; i < subscribers; i++) {
      const uid = subscriberUid(i);
      if (!keep.includes(uid)) this.live.set(uid, REALMS[i % REALMS.length]!);
    }
    this.next = subscribers;
  }

  private pick(): [uid: string, realm: string] | undefined {
    if (this.live.size === 0) return undefined;
    const k = Math.floor(this.rnd() * this.live.size);
    let i = 0;
    for (const e of this.live) if (i++ === k) return e;
    return undefined;
  }

  change(): GeneratedChange {
    const roll = this.rnd();
    const target = this.pick();
    if (!target || roll < 0.15) {
      const uid = subscriberUid(this.next);
      const realm = REALMS[this.next % REALMS.length]!;
      const ldif = subscriberRecord(this.next++, realm, this.rnd, uid);
      this.live.set(uid, realm);
      return {
        kind: 'add',
        ldif: ldif.replace(/^(dn::? [^\n]*)\n/, '$1\nchangetype: add\n'),
        summary: `add ${uid} in ${realm}`,
      };
    }
    const [uid, realm] = target;
    const at = dn.subscriber(realm, uid);
    if (roll < 0.5) {
      const status = ['active', 'suspended', 'disabled'][Math.floor(this.rnd() * 3)]!;
      return {
        kind: 'status',
        ldif: `dn: ${at}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n-`,
        summary: `${uid} is ${status}`,
      };
    }
    if (roll < 0.58) {
      const profiles = SERVICES.internet!;
      const p = profiles[Math.floor(this.rnd() * profiles.length)]!;
      return {
        kind: 'profile',
        ldif: `dn: ${at}\nchangetype: modify\nreplace: submanProfile\nsubmanProfile: ${dn.profile('internet', p)}\n-`,
        summary: `${uid} moves to profile ${p}`,
      };
    }
    if (roll < 0.68) {
      this.live.delete(uid);
      return { kind: 'delete', ldif: `dn: ${at}\nchangetype: delete`, summary: `delete ${uid}` };
    }
    if (roll < 0.79) {
      const renamed = `${uid.replace(/-r\d+$/, '')}-r${++this.renames}`;
      this.live.delete(uid);
      this.live.set(renamed, realm);
      return {
        kind: 'rename',
        ldif: `dn: ${at}\nchangetype: modrdn\nnewrdn: uid=${escapeDNValue(renamed)}\ndeleteoldrdn: 1`,
        summary: `rename ${uid} to ${renamed}`,
      };
    }
    if (roll < 0.92) {
      const others = REALMS.filter((r) => r !== realm);
      const to = others[Math.floor(this.rnd() * others.length)]!;
      this.live.set(uid, to);
      return {
        kind: 'rehome',
        ldif: `dn: ${at}\nchangetype: modrdn\nnewrdn: uid=${escapeDNValue(uid)}\ndeleteoldrdn: 1\nnewsuperior: ${dn.realm(to)}`,
        summary: `re-home ${uid} from ${realm} to ${to}`,
      };
    }
    const device = ['nas1', 'nas2', 'nas3'][Math.floor(this.rnd() * 3)]!;
    const port = `ge-0-0-${Math.floor(this.rnd() * 4)}`;
    const status = this.rnd() < 0.5 ? 'active' : 'down';
    return {
      kind: 'port',
      ldif: `dn: submanId=${port},${dn.client(device)}\nchangetype: modify\nreplace: submanStatus\nsubmanStatus: ${status}\n-`,
      summary: `port ${device}/${port} is ${status}`,
    };
  }
}

export { SUFFIX };
