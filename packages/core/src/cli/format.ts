/**
 * Output formats of `syncrepl-rx tail`.
 * - ndjson: one JSON object per line, `type` first; binary values as `{ "base64": "..." }`.
 * - text: one readable line per message.
 */
import type { AttributeValue, Attributes, SyncMessage } from '../sync/messages.js';

export type OutputFormat = 'text' | 'ndjson';

export function jsonValue(value: AttributeValue): string | { base64: string } {
  return typeof value === 'string' ? value : { base64: Buffer.from(value).toString('base64') };
}

export function jsonAttributes(attributes: Attributes): Record<string, (string | { base64: string })[]> {
  const out: Record<string, (string | { base64: string })[]> = {};
  for (const [name, values] of Object.entries(attributes)) out[name] = values.map(jsonValue);
  return out;
}

/** A JSON-safe copy of a message (binary values as base64 objects). */
export function messageToJson(message: SyncMessage): Record<string, unknown> {
  if ('attributes' in message) return { ...message, attributes: jsonAttributes(message.attributes) };
  return { ...message };
}

function textValue(value: AttributeValue): string {
  return typeof value === 'string' ? value : `base64:${Buffer.from(value).toString('base64')}`;
}

export function formatMessage(message: SyncMessage, format: OutputFormat): string {
  if (format === 'ndjson') return `${JSON.stringify(messageToJson(message))}\n`;
  switch (message.type) {
    case 'present':
    case 'add':
    case 'modify': {
      const attrs = Object.entries(message.attributes)
        .map(([name, values]) => `${name}=${values.map(textValue).join('|')}`)
        .join(' ');
      return `${message.type.padEnd(8)} ${message.dn}  {${message.entryUUID}}${attrs ? `  ${attrs}` : ''}\n`;
    }
    case 'delete':
      return `delete   ${message.dn}  {${message.entryUUID}}\n`;
    case 'cookie':
      return `cookie   ${message.cookie}\n`;
    case 'refreshDelete':
    case 'refreshPresent':
      return `${message.type}${message.refreshDone ? ' (refresh done)' : ''}\n`;
    case 'syncIdSet':
      return `syncIdSet ${message.refreshDeletes ? 'deleted' : 'present'}: ${message.entryUUIDs.join(' ')}\n`;
    case 'done':
      return `done${message.refreshDeletes ? ' (refreshDeletes)' : ''}\n`;
    case 'reset':
      return `reset    (${message.reason}: full reload follows)\n`;
  }
}
