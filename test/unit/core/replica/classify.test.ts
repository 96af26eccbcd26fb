/**
 * The one classifier (packages/core/src/replica/classify.ts) that replicate() and foldRenames share:
 * every row of its table. Both callers are tested through it too (replica*.test.ts,
 * operators-foldRenames.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../../packages/core/src/replica/changes.js';
import { classify } from '../../../../packages/core/src/replica/classify.js';

const U = 'aaaaaaaa-0000-4000-8000-000000000001';
const ann: Entry = { dn: 'uid=ann,ou=people,dc=x', attributes: { uid: ['ann'], mail: ['a@x'] } };

describe('classify', () => {
  it('says nothing between two absences', () => {
    expect(classify(U, undefined, undefined)).toBeUndefined();
  });

  it('adds an entry that was absent, and deletes one that is gone', () => {
    expect(classify(U, undefined, ann)).toEqual({ type: 'add', entryUUID: U, dn: ann.dn, entry: ann });
    expect(classify(U, ann, undefined)).toEqual({ type: 'delete', entryUUID: U, dn: ann.dn, old: ann });
  });

  it('renames on another DN, with the attribute diff (empty when only the DN changed)', () => {
    const moved: Entry = { dn: 'uid=ann,ou=staff,dc=x', attributes: ann.attributes };
    expect(classify(U, ann, moved)).toEqual({
      type: 'rename',
      entryUUID: U,
      oldDn: ann.dn,
      newDn: moved.dn,
      old: ann,
      new: moved,
      diff: {},
    });
  });

  it('modifies on the same DN with other attributes, and says nothing when they are the same', () => {
    const mailed: Entry = { dn: ann.dn, attributes: { uid: ['ann'], mail: ['b@x'] } };
    expect(classify(U, ann, mailed)).toEqual({
      type: 'modify',
      entryUUID: U,
      dn: ann.dn,
      old: ann,
      new: mailed,
      diff: { mail: { added: ['b@x'], removed: ['a@x'] } },
    });
    // Names compare case-insensitively, values as sets (diff.ts).
    const respelled: Entry = { dn: ann.dn, attributes: { UID: ['ann'], mail: ['a@x', 'a@x'] } };
    expect(classify(U, ann, respelled)).toBeUndefined();
  });

  it('compares DNs exactly as spelled: another spelling is a rename', () => {
    const upper: Entry = { dn: 'UID=ann,ou=people,dc=x', attributes: ann.attributes };
    expect(classify(U, ann, upper)).toMatchObject({ type: 'rename', diff: {} });
  });
});
