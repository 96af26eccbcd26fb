/**
 * Output formats of `syncrepl-rx tail`, for typed changes (the default) and for raw protocol
 * messages (`--messages`).
 * - ndjson: one JSON object per line, `type` first; binary values as `{ "base64": "..." }`.
 * - text: readable; a change's attribute values as `+`/`-` lines under it.
 * - ldif: change records (content records with `--messages`), see ./ldif.ts.
 */
import type { AttributeValue, Attributes, SyncMessage } from '../sync/messages.js';
import type { AttributeDiff, Change, ResetChange } from '../replica/changes.js';
import { ldifChange, ldifMessage, type LdifOptions, type UnknownDelete } from './ldif.js';
import { entryRecord } from '../stores/codec.js';
import { toBytes, writeRecordAttributesJson, type ByteSink } from '../protocol/record-json.js';

export type { UnknownDelete } from './ldif.js';

export type OutputFormat = 'text' | 'ndjson' | 'ldif';

export interface FormatOptions {
  format: OutputFormat;
  /** refreshAndPersist: a `ready` is followed by live changes (refreshOnly: by the end). */
  persist: boolean;
  ldif: LdifOptions;
}

export function jsonValue(value: AttributeValue): string | { base64: string } {
  return typeof value === 'string' ? value : { base64: Buffer.from(value).toString('base64') };
}

export function jsonAttributes(attributes: Attributes): Record<string, (string | { base64: string })[]> {
  const out: Record<string, (string | { base64: string })[]> = {};
  for (const [name, values] of Object.entries(attributes)) {
    // An attribute named __proto__ stays an own property (an assignment would set the prototype).
    Object.defineProperty(out, name, {
      value: values.map(jsonValue),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** An attribute description as a JSON string, quoted once per name for the life of the process. */
const quotedNames = new Map<string, string>();
function quotedName(name: string): string {
  let quoted = quotedNames.get(name);
  if (quoted === undefined) {
    quoted = JSON.stringify(name);
    if (quotedNames.size < 1024) quotedNames.set(name, quoted);
  }
  return quoted;
}

function valuesJson(values: readonly AttributeValue[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as AttributeValue;
    if (i > 0) out += ',';
    out +=
      typeof value === 'string'
        ? JSON.stringify(value)
        : `{"base64":"${Buffer.from(value).toString('base64')}"}`;
  }
  return `${out}]`;
}

/**
 * `JSON.stringify(jsonAttributes(attributes))`, built as a string: no copy of the attributes, no
 * value arrays, no base64 objects in between (the CLI's NDJSON writes one per entry).
 */
export function attributesJson(attributes: Attributes): string {
  let out = '{';
  let first = true;
  for (const name of Object.keys(attributes)) {
    const values = attributes[name];
    if (values === undefined) continue;
    out += `${first ? '' : ','}${quotedName(name)}:${valuesJson(values)}`;
    first = false;
  }
  return `${out}}`;
}

/**
 * `JSON.stringify(messageToJson(message))` without the copy: the message's own keys in their
 * order, `attributes` through attributesJson, undefined fields left out as JSON.stringify does.
 */
export function messageJson(message: SyncMessage): string {
  let out = '{';
  let first = true;
  const fields = message as unknown as Record<string, unknown>;
  for (const key of Object.keys(message)) {
    const value = fields[key];
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') continue;
    const json =
      key === 'attributes'
        ? attributesJson(value as Attributes)
        : (JSON.stringify(value) as string | undefined);
    if (json === undefined) continue;
    out += `${first ? '' : ','}${quotedName(key)}:${json}`;
    first = false;
  }
  return `${out}}`;
}

/** A JSON-safe copy of a message (binary values as base64 objects). */
export function messageToJson(message: SyncMessage): Record<string, unknown> {
  if ('attributes' in message) return { ...message, attributes: jsonAttributes(message.attributes) };
  return { ...message };
}

/**
 * Text as it may reach a terminal: control characters (C0, DEL, C1, and the Unicode line and
 * paragraph separators) become `\xNN` / `\uNNNN` escapes, so a hostile value
 * can neither move the cursor, nor recolour the terminal, nor start a line of its own.
 */
export function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

/**
 * Library advice reworded for the command line: CLI users set flags and variables, not options
 * such as `tls.ca`.
 */
export function cliWording(text: string): string {
  return text
    .replace(
      'against the `tls.ca` you pass, and the host name in the URL',
      'against the CA file (--ca, LDAPTLS_CACERT or TLS_CACERT in ldap.conf), and the host name in -H',
    )
    .replace(', or raise the `timeout` option', '')
    .replace('or pass `reconnect` to do this automatically', 'or use --reconnect to do this automatically');
}

function textValue(value: AttributeValue): string {
  return typeof value === 'string' ? printable(value) : `base64:${Buffer.from(value).toString('base64')}`;
}

export function formatMessage(message: SyncMessage, options: FormatOptions): string {
  if (options.format === 'ndjson') return `${messageJson(message)}\n`;
  if (options.format === 'ldif') return ldifMessage(message, options.ldif, resetReason);
  switch (message.type) {
    case 'present':
    case 'add':
    case 'modify': {
      const attrs = Object.entries(message.attributes)
        .map(([name, values]) => `${printable(name)}=${values.map(textValue).join('|')}`)
        .join(' ');
      return `${message.type.padEnd(8)} ${printable(message.dn)}  {${message.entryUUID}}${attrs ? `  ${attrs}` : ''}\n`;
    }
    case 'delete':
      return `delete   ${printable(message.dn)}  {${message.entryUUID}}\n`;
    case 'cookie':
      return `cookie   ${printable(message.cookie)}\n`;
    case 'refreshDelete':
    case 'refreshPresent':
      return `${message.type}${message.refreshDone ? ' (refresh done)' : ''}\n`;
    case 'syncIdSet':
      return `syncIdSet ${message.refreshDeletes ? 'deleted' : 'present'}: ${message.entryUUIDs.join(' ')}\n`;
    case 'done':
      return `done${message.refreshDeletes ? ' (refreshDeletes)' : ''}\n`;
    case 'reset':
      return `reset    (${resetReason(message.reason)})\n`;
  }
}

function jsonDiff(diff: AttributeDiff): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, d] of Object.entries(diff)) {
    out[name] = {
      added: d.added.map(jsonValue),
      removed: d.removed.map(jsonValue),
      ...(d.appeared ? { appeared: true } : {}),
      ...(d.vanished ? { vanished: true } : {}),
    };
  }
  return out;
}

/**
 * `JSON.stringify(changeToJson(change))`: the changes of a refresh (add, and modify and delete
 * later) written straight as strings, the rest through changeToJson.
 */
export function changeJson(change: Change | UnknownDelete): string {
  switch (change.type) {
    case 'add':
      return (
        `{"type":"add","entryUUID":${JSON.stringify(change.entryUUID)},"dn":${JSON.stringify(change.dn)},` +
        `"attributes":${attributesJson(change.entry.attributes)}}`
      );
    case 'delete':
      return `{"type":"delete","entryUUID":${JSON.stringify(change.entryUUID)},"dn":${JSON.stringify(change.dn)}}`;
    default:
      return JSON.stringify(changeToJson(change));
  }
}

/**
 * The NDJSON object of a change: type, entryUUID, dn (oldDn/newDn for a rename), diff. A delete
 * whose DN is unknown (see UnknownDelete) has `"dn": null`.
 */
export function changeToJson(change: Change | UnknownDelete): Record<string, unknown> {
  switch (change.type) {
    case 'unknownDelete':
      return { type: 'delete', entryUUID: change.entryUUID, dn: change.dn ?? null };
    case 'add':
      return {
        type: 'add',
        entryUUID: change.entryUUID,
        dn: change.dn,
        attributes: jsonAttributes(change.entry.attributes),
      };
    case 'modify':
      return { type: 'modify', entryUUID: change.entryUUID, dn: change.dn, diff: jsonDiff(change.diff) };
    case 'rename':
      return {
        type: 'rename',
        entryUUID: change.entryUUID,
        oldDn: change.oldDn,
        newDn: change.newDn,
        diff: jsonDiff(change.diff),
      };
    case 'delete':
      return { type: 'delete', entryUUID: change.entryUUID, dn: change.dn };
    case 'ready':
      return { type: 'ready', ...(change.cookie === undefined ? {} : { cookie: change.cookie }) };
    case 'reset':
      return { type: 'reset', reason: change.reason };
  }
}

function valueLines(sign: '+' | '-', name: string, values: readonly AttributeValue[]): string {
  return values.map((v) => `    ${sign} ${printable(name)}: ${textValue(v)}\n`).join('');
}

function diffLines(diff: AttributeDiff): string {
  let out = '';
  for (const [name, d] of Object.entries(diff))
    out += valueLines('-', name, d.removed) + valueLines('+', name, d.added);
  return out;
}

/**
 * Writes formatChange's text into `sink` as its UTF-8 bytes. An add whose entry is still its
 * record is written from the record's bytes (protocol/record-json.ts): the same text, without
 * decoding the entry and without building a string for it.
 */
export function writeChange(change: Change | UnknownDelete, options: FormatOptions, sink: TextSink): void {
  if (options.format === 'ndjson' && change.type === 'add') {
    const record = entryRecord(change.entry);
    if (record !== undefined) {
      // The line's size at most: six bytes per record byte (\u00XX), and what surrounds it.
      sink.lineOf(6 * (record.length + change.dn.length) + 128);
      const at = sink.used;
      // Appended without handing anything on until the line is whole: a record the decoder
      // treats specially takes back what was written of it.
      sink.append(
        `{"type":"add","entryUUID":${JSON.stringify(change.entryUUID)},"dn":${toBytes(JSON.stringify(change.dn))},"attributes":`,
      );
      if (writeRecordAttributesJson(record, sink)) {
        sink.append('}\n');
        sink.written();
        return;
      }
      sink.used = at;
    }
  }
  sink.writeBytes(toBytes(formatChange(change, options)));
}

/** What writeChange writes to: the CLI's ChunkedOutput. */
export interface TextSink extends ByteSink {
  /** Appends a byte string (UTF-8 bytes, one character each), then may hand a full chunk on. */
  writeBytes(bytes: string): void;
  /** Appends a byte string and hands nothing on (see written). */
  append(bytes: string): void;
  /** Before a line of about `bytes`: hands what is held on first when it would not fit. */
  lineOf(bytes: number): void;
  /** After appending: hands a full chunk on, or schedules what is held. */
  written(): void;
}

export function formatChange(change: Change | UnknownDelete, options: FormatOptions): string {
  if (options.format === 'ndjson') return `${changeJson(change)}\n`;
  if (options.format === 'ldif') return ldifChange(change, options.ldif, resetReason);
  switch (change.type) {
    case 'unknownDelete':
      return `delete   ${change.dn === undefined ? '(DN unknown without --store)' : printable(change.dn)}  {${change.entryUUID}}\n`;
    case 'add': {
      let out = `add      ${printable(change.dn)}  {${change.entryUUID}}\n`;
      for (const [name, values] of Object.entries(change.entry.attributes))
        out += valueLines('+', name, values);
      return out;
    }
    case 'modify':
      return `modify   ${printable(change.dn)}  {${change.entryUUID}}\n${diffLines(change.diff)}`;
    case 'rename':
      return `rename   ${printable(change.oldDn)} -> ${printable(change.newDn)}  {${change.entryUUID}}\n${diffLines(change.diff)}`;
    case 'delete':
      return `delete   ${printable(change.dn)}  {${change.entryUUID}}\n`;
    case 'ready':
      return options.persist
        ? 'ready    (the replica equals the directory; live changes follow)\n'
        : 'ready    (the replica equals the directory)\n';
    case 'reset':
      return `reset    (${resetReason(change.reason)})\n`;
  }
}

const RESET_REASONS: Record<ResetChange['reason'], string> = {
  refreshRequired: 'the server cannot resume from the cookie',
  storeDiscarded: 'the stored replica was discarded',
};

function resetReason(reason: string): string {
  const why = RESET_REASONS[reason as ResetChange['reason']] ?? reason;
  return `${why}: a full reload follows; drop what it does not bring back`;
}
