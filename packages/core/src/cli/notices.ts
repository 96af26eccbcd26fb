/**
 * What `syncrepl-rx tail` (./main.ts) says on stderr besides the errors themselves: which fields of
 * a --store of another search differ, the lost/back lines of --reconnect, and the progress line
 * of a long refresh on a terminal.
 */
import type { SyncStatus } from '../sync/syncrepl.js';
import type { SyncreplError } from '../errors.js';
import type { ReplicaIdentityError } from '../stores/store.js';
import { cliWording } from './format.js';

/** The first sentence of an error message, for a one-line notice. */
const firstSentence = (message: string) => message.replace(/\. .*$/s, '').replace(/\.$/, '');

/** What --store DIR holds and this run asks for, field by field, for one sentence. */
export function identityDifferences(error: ReplicaIdentityError): string {
  const label = {
    bindDN: 'bind DN',
    base: 'base',
    scope: 'scope',
    filter: 'filter',
    attributes: 'attributes',
  };
  const shown = (field: keyof typeof label, id: ReplicaIdentityError['stored']) => {
    if (field === 'attributes') return id.attributes.length === 0 ? '*' : id.attributes.join(',');
    if (field === 'bindDN') return id.bindDN === '' ? 'anonymous' : id.bindDN;
    return id[field];
  };
  return error.differences
    .map(
      (f) =>
        `${label[f]} ${JSON.stringify(shown(f, error.stored))}, not ${JSON.stringify(shown(f, error.requested))}`,
    )
    .join('; ');
}

/**
 * With --reconnect, one line when the connection is lost (or the first one fails) and one when a
 * connection is back, naming the server.
 */
export function reconnectNotices(say: (line: string) => void): (status: SyncStatus) => void {
  let trying: string | undefined;
  let connected = false;
  let down = false;
  return (status) => {
    const failed = (error: SyncreplError | undefined) => {
      if (down) return;
      down = true;
      const why = error ? ` (${firstSentence(cliWording(error.message))})` : '';
      say(
        connected
          ? `lost the connection to ${trying}${why}; reconnecting`
          : `cannot connect to ${trying}${why}; retrying`,
      );
    };
    switch (status.state) {
      case 'connecting':
        if (status.attempt > 0) failed(status.error);
        trying = status.url;
        break;
      case 'backoff':
        failed(status.error);
        break;
      case 'refreshing':
        if (down) say(`${connected ? 'reconnected' : 'connected'} to ${status.url}; resuming`);
        down = false;
        connected = true;
        break;
      default:
        break;
    }
  };
}

/** A progress line on stderr while a long refresh runs (only when stderr is a terminal). */
export class Progress {
  private entries = 0;
  private readonly started = Date.now();
  private timer: NodeJS.Timeout | undefined = setInterval(() => this.draw(), 250);

  count(type: string, refreshDone: boolean): void {
    if (type === 'present' || type === 'add' || type === 'modify') this.entries++;
    if (type === 'done' || refreshDone) this.clear();
  }

  private draw(): void {
    const secs = (Date.now() - this.started) / 1000;
    const rate = secs > 0 ? Math.round(this.entries / secs) : 0;
    process.stderr.write(`\r\x1b[Krefreshing: ${this.entries} entries, ${rate}/s`);
  }

  clear(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\r\x1b[K');
  }
}
