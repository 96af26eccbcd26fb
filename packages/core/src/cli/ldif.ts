/**
 * LDIF output of `syncrepl-rx tail --format ldif` (RFC 2849), written the way ldapsearch writes it:
 *
 * - A value is written as text only when ldapsearch would: it starts with a printable character
 *   other than space, `:` and `<`, ends with a printable character other than space, and holds
 *   printable ASCII only (so ESC, TAB, CR, LF, NUL, DEL and anything beyond ASCII go base64).
 *   Binary values, `;binary` attributes and userPassword are always base64 (`name:: ...`). An
 *   empty value is `name:`. The DN follows the same rule (`dn:: ...`).
 * - Lines are folded as ldapsearch folds them: at 78 columns by default (OpenLDAP's
 *   LDIF_LINE_WIDTH), a continuation line starting with one space, and `-o ldif_wrap=N|no`
 *   changes that. Comments are never folded (they are one short line each).
 * - Typed changes are change records: add, modify (add/delete/replace operations from the diff,
 *   each ended by `-`), modrdn (newrdn, deleteoldrdn, newsuperior when the parent changed; plus
 *   a modify of the new DN when the rename changed other attributes too) and delete. Fed to
 *   `ldapmodify` in order, they turn a copy of the old entries into the new ones.
 * - With `--messages`, entries are content records and deletes are delete records.
 * - Comments: `# entryUUID: ...` before each record, `# ready`, `# reset: ...`, and a delete
 *   whose DN is unknown (a syncIdSet names entryUUIDs only). `-LL` drops the comments that only
 *   annotate (entryUUID, ready, protocol messages) and keeps those that stand for something LDIF
 *   cannot say (a reset, a delete known by entryUUID alone); `-LLL` also drops `version: 1`.
 */
import { parseDN } from '../dn.js';
import type { Attributes, AttributeValue, SyncMessage } from '../sync/messages.js';
import { getAttribute } from '../sync/messages.js';
import type { AttributeDiff, Change, Entry } from '../replica/changes.js';
import { diffAttributes, isEmptyDiff } from '../replica/diff.js';
import { entryRecord } from '../stores/codec.js';
import { recordName, visitRecord, type RecordVisitor } from '../protocol/record-json.js';

/** ldapsearch's default line width (LDIF_LINE_WIDTH in OpenLDAP's ldif.h). */
export const LDIF_WRAP = 78;

export interface LdifOptions {
  /** Fold lines longer than this many columns (Infinity: never). */
  wrap: number;
  /** How many `-L` were given (0..3): 2 drops annotations, 3 also the version line. */
  level: number;
}

const utf8 = new TextEncoder();

/** Whether ldapsearch writes this value base64-encoded (see the top of this file). */
export function mustBase64(name: string, value: AttributeValue): boolean {
  if (typeof value !== 'string') return true;
  if (value === '') return false;
  const lower = name.toLowerCase();
  if (lower.includes(';binary') || lower === 'userpassword' || lower === '2.5.4.35') return true;
  const graph = (c: number) => c > 0x20 && c < 0x7f;
  const first = value.charCodeAt(0);
  if (!graph(first) || first === 0x3a /* : */ || first === 0x3c /* < */) return true;
  if (!graph(value.charCodeAt(value.length - 1))) return true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return true;
  }
  return false;
}

/** An attribute description as the server sent it, or escaped when it could break the LDIF. */
function safeName(name: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9;.\-_]*$/.test(name)
    ? name
    : name.replace(/[^A-Za-z0-9;.\-_]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Appends `text` to a line that is `column` columns long, folding as ldapsearch does. */
function fold(prefix: string, text: string, wrap: number): string {
  let out = prefix;
  let column = prefix.length;
  if (column + text.length <= wrap) return out + text;
  for (const ch of text) {
    if (column >= wrap) {
      out += '\n ';
      column = 1;
    }
    out += ch;
    column++;
  }
  return out;
}

/** One attribute line (`name: value` or `name:: base64`, folded), with its newline. */
export function ldifLine(name: string, value: AttributeValue, wrap: number = LDIF_WRAP): string {
  const n = safeName(name);
  if (value.length === 0) return `${n}:\n`;
  if (!mustBase64(name, value)) return `${fold(`${n}: `, value as string, wrap)}\n`;
  const base64 = Buffer.from(typeof value === 'string' ? utf8.encode(value) : value).toString('base64');
  return `${fold(`${n}:: `, base64, wrap)}\n`;
}

/** A comment line: control characters escaped, so it stays one line; never folded. */
function comment(text: string): string {
  // eslint-disable-next-line no-control-regex
  const safe = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
  return `# ${safe}\n`;
}

/** Per attribute number of the record name table: the name as written, and whether it is always base64. */
const recordNames: ({ safe: string; base64: boolean } | undefined)[] = [];

/**
 * Writes the attribute lines of an entry record without decoding it (protocol/record-json.ts):
 * the bytes of a value are the UTF-8 that ldifLine would encode, so the same rules give the same
 * lines (text only for printable ASCII, else base64 of exactly those bytes).
 */
class RecordLdif implements RecordVisitor {
  out = '';
  wrap = LDIF_WRAP;
  private name = '';
  private base64 = false;

  attribute(number: number): void {
    let known = recordNames[number];
    if (known === undefined) {
      const name = recordName(number);
      const lower = name.toLowerCase();
      known = {
        safe: safeName(name),
        base64: lower.includes(';binary') || lower === 'userpassword' || lower === '2.5.4.35',
      };
      recordNames[number] = known;
    }
    this.name = known.safe;
    this.base64 = known.base64;
  }

  value(r: string, s: number, e: number, binary: boolean): void {
    if (s === e) {
      this.out += `${this.name}:\n`;
    } else if (!binary && !this.base64 && printableAscii(r, s, e)) {
      this.out += `${fold(`${this.name}: `, r.slice(s, e), this.wrap)}\n`;
    } else {
      const base64 = Buffer.from(r.slice(s, e), 'latin1').toString('base64');
      this.out += `${fold(`${this.name}:: `, base64, this.wrap)}\n`;
    }
  }
}
const recordLdif = new RecordLdif();

/** mustBase64's test for text, on bytes: printable ASCII, not starting with space, `:` or `<`, not ending with space. */
function printableAscii(r: string, s: number, e: number): boolean {
  const first = r.charCodeAt(s);
  if (first <= 0x20 || first >= 0x7f || first === 0x3a || first === 0x3c) return false;
  const last = r.charCodeAt(e - 1);
  if (last <= 0x20 || last >= 0x7f) return false;
  for (let i = s + 1; i < e - 1; i++) {
    const c = r.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** The attribute lines of an entry: from its record while it is one, else from its attributes. */
function entryLines(entry: Entry, wrap: number): string {
  const record = entryRecord(entry);
  if (record !== undefined) {
    recordLdif.out = '';
    recordLdif.wrap = wrap;
    const ok = visitRecord(record, recordLdif);
    const out = recordLdif.out;
    recordLdif.out = '';
    if (ok) return out;
  }
  return attributeLines(entry.attributes, wrap);
}

function attributeLines(attributes: Attributes, wrap: number): string {
  let out = '';
  for (const [name, values] of Object.entries(attributes)) {
    for (const value of values) out += ldifLine(name, value, wrap);
  }
  return out;
}

/** The add / delete / replace operations of a `changetype: modify` that turn old into new. */
export function modifyOperations(diff: AttributeDiff, next: Attributes, wrap: number): string {
  let out = '';
  for (const [name, d] of Object.entries(diff)) {
    if (d.vanished) {
      out += `delete: ${safeName(name)}\n`;
    } else if (d.removed.length === 0) {
      out += `add: ${safeName(name)}\n`;
      for (const v of d.added) out += ldifLine(name, v, wrap);
    } else if (d.added.length === 0) {
      out += `delete: ${safeName(name)}\n`;
      for (const v of d.removed) out += ldifLine(name, v, wrap);
    } else {
      // Values both left and came: the whole new set, which holds whatever the old one was.
      out += `replace: ${safeName(name)}\n`;
      for (const v of getAttribute(next, name) ?? d.added) out += ldifLine(name, v, wrap);
    }
    out += '-\n';
  }
  return out;
}

/** Splits a DN into its first RDN (as written) and the parent DN (`''` for a one-RDN DN). */
export function splitDn(dn: string): [rdn: string, parent: string] {
  for (let i = 0; i < dn.length; i++) {
    const c = dn[i];
    if (c === '\\') i++;
    else if (c === ',' || c === ';') return [dn.slice(0, i), dn.slice(i + 1).trim()];
  }
  return [dn, ''];
}

/** A DN in a form that compares as LDAP compares most DNs: types and values case-insensitively. */
function dnKey(dn: string): string {
  try {
    return JSON.stringify(
      parseDN(dn).map((rdn) =>
        rdn.map((ava) => `${ava.type.toLowerCase()}=${ava.value.toLowerCase()}`).sort(),
      ),
    );
  } catch {
    return dn.toLowerCase();
  }
}

/** The `type=value` pairs of an RDN, values unescaped; [] when it does not parse. */
function rdnValues(rdn: string): { type: string; value: string }[] {
  try {
    return parseDN(rdn)[0] ?? [];
  } catch {
    return [];
  }
}

const hasValue = (attributes: Attributes, type: string, value: string): boolean =>
  (getAttribute(attributes, type) ?? []).some(
    (v) => typeof v === 'string' && v.toLowerCase() === value.toLowerCase(),
  );

/**
 * The modrdn record of a rename (and the modify record that follows it when the rename changed
 * more than its RDN): what the server does for a modrdn is simulated on the old entry, and what
 * still differs from the new entry becomes the modify.
 */
function renameRecords(oldEntry: Entry, newEntry: Entry, annotation: string, wrap: number): string {
  const [oldRdn, oldParent] = splitDn(oldEntry.dn);
  const [newRdn, newParent] = splitDn(newEntry.dn);
  const oldValues = rdnValues(oldRdn);
  const newValues = rdnValues(newRdn);
  // deleteoldrdn: 1 when an old RDN value is gone from the entry.
  const deleteOldRdn = oldValues.some(({ type, value }) => !hasValue(newEntry.attributes, type, value));
  let out = `${annotation}${ldifLine('dn', oldEntry.dn, wrap)}changetype: modrdn\n${ldifLine('newrdn', newRdn, wrap)}`;
  out += `deleteoldrdn: ${deleteOldRdn ? 1 : 0}\n`;
  if (dnKey(oldParent) !== dnKey(newParent)) out += ldifLine('newsuperior', newParent, wrap);
  out += '\n';

  // What the modrdn leaves: the old attributes, old RDN values gone (deleteoldrdn), new ones in.
  const after: Attributes = {};
  for (const [name, values] of Object.entries(oldEntry.attributes)) after[name] = [...values];
  const named = (type: string): string =>
    Object.keys(after).find((k) => k.toLowerCase() === type.toLowerCase()) ?? type;
  if (deleteOldRdn) {
    for (const { type, value } of oldValues) {
      const key = named(type);
      const kept = (after[key] ?? []).filter(
        (v) => !(typeof v === 'string' && v.toLowerCase() === value.toLowerCase()),
      );
      if (kept.length > 0) after[key] = kept;
      else delete after[key];
    }
  }
  for (const { type, value } of newValues) {
    if (!hasValue(after, type, value)) (after[named(type)] ??= []).push(value);
  }
  const rest = diffAttributes(after, newEntry.attributes);
  if (!isEmptyDiff(rest)) {
    out += `${ldifLine('dn', newEntry.dn, wrap)}changetype: modify\n`;
    out += `${modifyOperations(rest, newEntry.attributes, wrap)}\n`;
  }
  return out;
}

/** A delete the replica could not place: its entryUUID, and its DN when the message had one. */
export interface UnknownDelete {
  type: 'unknownDelete';
  entryUUID: string;
  dn?: string;
}

/** `version: 1` and the blank line after it, unless -LLL. */
export function ldifHeader(options: LdifOptions): string {
  return options.level >= 3 ? '' : 'version: 1\n\n';
}

export function ldifChange(
  change: Change | UnknownDelete,
  options: LdifOptions,
  resetReason: (reason: string) => string,
): string {
  const { wrap } = options;
  const annotate = options.level < 2;
  const uuid = (entryUUID: string) => (annotate ? comment(`entryUUID: ${entryUUID}`) : '');
  switch (change.type) {
    case 'add':
      return (
        `${uuid(change.entryUUID)}${ldifLine('dn', change.dn, wrap)}changetype: add\n` +
        `${entryLines(change.entry, wrap)}\n`
      );
    case 'modify':
      return (
        `${uuid(change.entryUUID)}${ldifLine('dn', change.dn, wrap)}changetype: modify\n` +
        `${modifyOperations(change.diff, change.new.attributes, wrap)}\n`
      );
    case 'rename':
      return renameRecords(change.old, change.new, uuid(change.entryUUID), wrap);
    case 'delete':
      return `${uuid(change.entryUUID)}${ldifLine('dn', change.dn, wrap)}changetype: delete\n\n`;
    case 'unknownDelete':
      if (change.dn !== undefined) {
        return `${uuid(change.entryUUID)}${ldifLine('dn', change.dn, wrap)}changetype: delete\n\n`;
      }
      // Kept at every -L level: LDIF has no way to say it otherwise.
      return `${comment(`delete: entryUUID ${change.entryUUID} (DN unknown without --store)`)}\n`;
    case 'ready':
      return annotate ? `${comment('ready')}\n` : '';
    case 'reset':
      return `${comment(`reset: ${resetReason(change.reason)}`)}\n`;
  }
}

export function ldifMessage(
  message: SyncMessage,
  options: LdifOptions,
  resetReason: (reason: string) => string,
): string {
  const { wrap } = options;
  const annotate = options.level < 2;
  const note = (text: string) => (annotate ? comment(text) : '');
  switch (message.type) {
    case 'present':
    case 'add':
    case 'modify':
      return (
        `${note(`${message.type}, entryUUID: ${message.entryUUID}`)}${ldifLine('dn', message.dn, wrap)}` +
        `${attributeLines(message.attributes, wrap)}\n`
      );
    case 'delete':
      return `${note(`delete, entryUUID: ${message.entryUUID}`)}${ldifLine('dn', message.dn, wrap)}changetype: delete\n\n`;
    case 'cookie':
      return annotate ? `${comment(`cookie: ${message.cookie}`)}\n` : '';
    case 'refreshDelete':
    case 'refreshPresent':
      return annotate ? `${comment(`${message.type}${message.refreshDone ? ' (refresh done)' : ''}`)}\n` : '';
    case 'syncIdSet': {
      // Deleted entryUUIDs stay at every -L level (their DNs are unknown); present ones annotate.
      if (!message.refreshDeletes && !annotate) return '';
      const kind = message.refreshDeletes ? 'deleted' : 'present';
      return `${message.entryUUIDs.map((u) => comment(`syncIdSet ${kind}: entryUUID ${u}`)).join('')}\n`;
    }
    case 'done':
      return annotate ? `${comment(`done${message.refreshDeletes ? ' (refreshDeletes)' : ''}`)}\n` : '';
    case 'reset':
      return `${comment(`reset: ${resetReason(message.reason)}`)}\n`;
  }
}
