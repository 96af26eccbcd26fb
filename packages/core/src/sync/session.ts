/**
 * A `syncrepl()` subscription's run loop: the searches of one session, one connection after the
 * other (SyncSearch, ./search.ts), from the starting cookie to the end. A retryable failure moves
 * to the next URL at once, round robin; when every URL failed in turn, the backoff (./backoff.ts)
 * waits; e-syncRefreshRequired (4096) restarts without a cookie after a `reset` message; `stop`
 * and unsubscribing end it (see the diagram in ./syncrepl.ts).
 */
import { CookieGuard } from '../protocol/cookie.js';
import { RefreshRequiredError, type SyncreplError } from '../errors.js';
import { backoffDelay, sleep } from './backoff.js';
import { SyncSearch, asSyncreplError } from './search.js';

export class SyncSession extends SyncSearch {
  private readonly abort = new AbortController();

  async run(): Promise<void> {
    const { o, urls } = this.n;
    const onStop = () => this.onStop();
    o.stop?.addEventListener('abort', onStop, { once: true });
    try {
      const initial = o.cookie ?? (o.cookieStore ? await o.cookieStore.load() : undefined);
      if (initial !== undefined) this.guard = new CookieGuard(initial);
      /** The URL in use. */
      let index = 0;
      /** Failed connections since the last completed refresh (over all URLs). */
      let attempt = 0;
      /** URLs that failed in turn since the last completed refresh or backoff. */
      let failedInRound = 0;
      /** Rounds in which every URL failed: the backoff's exponent. */
      let rounds = 0;
      /** The failure that led to the next attempt. */
      let failure: SyncreplError | undefined;
      for (;;) {
        if (this.ended) return;
        const url = urls[index]!;
        try {
          this.status({
            state: 'connecting',
            attempt,
            url: url.href,
            ...(attempt > 0 && failure !== undefined ? { error: failure } : {}),
          });
          await this.runOnce(url, () => {
            // a completed refresh proves the connection healthy again
            attempt = 0;
            failedInRound = 0;
            rounds = 0;
          });
          this.status({ state: 'closed' });
          this.end(() => this.subscriber.complete());
          return;
        } catch (e) {
          if (this.ended) return;
          const err = asSyncreplError(e);
          failure = err;
          this.closeConnection();
          if (err instanceof RefreshRequiredError && this.n.backoff) {
            // §3.2: the cookie cannot be honoured. Start over without it and tell consumers so
            // they can purge what the reload does not bring back.
            this.log.warn?.(`syncrepl: ${url.href} requires a full reload; restarting without a cookie`);
            this.guard = new CookieGuard();
            this.subscriber.next({ type: 'reset', reason: 'refreshRequired' });
            continue;
          }
          const backoff = this.n.backoff;
          if (!err.retryable) throw err;
          if (!backoff) {
            // Without `reconnect`, only the first connection tries the URLs in turn (as
            // ldapsearch -H does), and only until something was delivered.
            if (this.delivered || index + 1 >= urls.length) throw err;
            index++;
            this.log.warn?.(`syncrepl: ${err.message} Trying ${urls[index]!.href} next.`, { code: err.code });
            continue;
          }
          if (attempt + 1 >= backoff.maxAttempts) throw err;
          if (o.stop?.aborted) {
            this.end(() => this.subscriber.complete());
            return;
          }
          attempt++;
          index = (index + 1) % urls.length;
          const next = urls[index]!.href;
          if (++failedInRound < urls.length) {
            // Another server of the directory may well be up: try it at once.
            this.log.warn?.(`syncrepl: ${err.message} Trying ${next} next.`, { code: err.code });
            continue;
          }
          failedInRound = 0;
          const delayMs = backoffDelay(rounds++, backoff, o.random);
          this.log.warn?.(
            `syncrepl: ${err.message} Retrying${urls.length > 1 ? ` with ${next}` : ''} in ${delayMs} ms.`,
            { code: err.code },
          );
          this.status({ state: 'backoff', delayMs, error: err });
          const slept = await sleep(delayMs, this.abort.signal);
          if (!slept) {
            if (!this.ended) this.end(() => this.subscriber.complete());
            return;
          }
        }
      }
    } catch (e) {
      const err = asSyncreplError(e);
      this.status({ state: 'closed', error: err });
      this.end(() => this.subscriber.error(err));
    } finally {
      o.stop?.removeEventListener('abort', onStop);
    }
  }

  private end(notify: () => void): void {
    if (this.ended) return;
    this.ended = true;
    this.closeConnection();
    notify();
  }

  private onStop(): void {
    // Backoff sleeps end at once; a refresh is allowed to finish; persist is cancelled.
    if (!this.conn || this.conn.isClosed) {
      this.abort.abort();
      return;
    }
    if (this.n.mode === 'refreshOnly') return;
    if (this.refreshDone) this.sendCancel();
  }

  teardown(): void {
    this.abort.abort();
    if (this.ended) return;
    this.ended = true;
    this.closeConnection();
    this.status({ state: 'closed' });
  }
}
