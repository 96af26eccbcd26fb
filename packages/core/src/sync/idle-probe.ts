/**
 * The idle probe of a running search (the `idleProbe` option).
 */
import { withTimeout, type LdapConnection } from '../protocol/connection.js';
import { TimeoutError } from '../errors.js';
import type { FlowControl } from './flow.js';

const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3'; // RFC 4532

/**
 * The idle probe: while the search runs, a connection that received nothing for one to two
 * `idleProbe` periods gets a WhoAmI (RFC 4532); no answer within `timeout` ends it as lost. Any
 * answer will do (a server without WhoAmI answers with an error, which proves it alive). Not
 * while `flow` holds the socket: then the silence is ours. Returns the function that stops it.
 */
export function watchIdle(
  conn: LdapConnection,
  every: number | undefined,
  timeout: number,
  flow: FlowControl | undefined,
): () => void {
  if (every === undefined) return () => {};
  let seen = conn.received;
  let probing = false;
  const timer = setInterval(() => {
    if (conn.isClosed || probing) return;
    if (conn.received !== seen || flow?.paused === true) {
      seen = conn.received;
      return;
    }
    probing = true;
    const phase = 'waiting for the answer to an idle probe (WhoAmI)';
    withTimeout(conn.extended(WHO_AM_I_OID), timeout, conn.endpoint, phase, () =>
      conn.abort(new TimeoutError(conn.endpoint, phase, timeout)),
    ).then(
      () => {
        probing = false;
        seen = conn.received;
      },
      () => {
        // An answer that is not an ExtendedResponse still came from a live server; a closed
        // connection fails the search with its own error.
        probing = false;
        seen = conn.received;
      },
    );
  }, every);
  timer.unref?.();
  return () => clearInterval(timer);
}
