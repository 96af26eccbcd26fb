/**
 * One LDAP connection: TCP or TLS socket, StartTLS, bind, LDAPMessage framing and dispatch by
 * messageID. It knows nothing about syncrepl; ../sync/search.ts drives it.
 */
import { createRequire } from 'node:module';
import net from 'node:net';
import type tls from 'node:tls';
import { elementLength } from './ber.js';
import {
  LdapDecoder,
  encodeAbandon,
  encodeExtended,
  encodeSearch,
  encodeSaslBind,
  encodeSimpleBind,
  encodeUnbind,
  type DecodeOptions,
  type LdapResponse,
} from './pdu.js';
import {
  BindError,
  ConnectionError,
  InvalidOptionsError,
  MalformedBerError,
  SyncreplError,
  TimeoutError,
  TlsError,
} from '../errors.js';

const STARTTLS_OID = '1.3.6.1.4.1.1466.20037'; // RFC 4511 §4.14
const NOTICE_OF_DISCONNECTION_OID = '1.3.6.1.4.1.1466.20036'; // RFC 4511 §4.4.1
/** Largest LDAPMessage we accept; a bigger announced length is treated as malformed input. */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface LdapUrl {
  secure: boolean;
  host: string;
  port: number;
  /** host:port, for messages. Never contains credentials. */
  endpoint: string;
  /** `ldap://host:port` or `ldaps://host:port`: the URL without DN or extensions, for status and logs. */
  href: string;
}

/** Parses `ldap://host[:port]` or `ldaps://host[:port]` (RFC 4516; DN and extensions are ignored). */
export function parseLdapUrl(url: string): LdapUrl {
  // No userinfo: credentials go in bindDN/password, never in a URL that ends up in messages.
  const m = /^(ldaps?):\/\/(\[[0-9a-fA-F:.]+\]|[^:/?@]*)(?::(\d+))?(?:\/.*)?$/.exec(url);
  if (!m) {
    // Never echo credentials someone put in the URL (ldap://user:password@host).
    const shown = url.replace(/\/\/[^/]*@/, '//***@');
    throw new InvalidOptionsError(
      `Unsupported LDAP URL ${JSON.stringify(shown)}: use ldap://host:port or ldaps://host:port, ` +
        'with the bind DN and password as options.',
    );
  }
  const secure = m[1] === 'ldaps';
  const rawHost = m[2] || 'localhost';
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const port = m[3] ? Number(m[3]) : secure ? 636 : 389;
  if (!(port > 0 && port < 65536)) throw new InvalidOptionsError(`Invalid port ${port} in an LDAP URL.`);
  const endpoint = `${rawHost}:${port}`;
  return { secure, host, port, endpoint, href: `${m[1]}://${endpoint}` };
}

export interface ConnectOptions {
  url: LdapUrl;
  /** Options for ldaps:// and StartTLS (ca, cert, key, servername, rejectUnauthorized...). */
  tls?: tls.ConnectionOptions;
  startTLS?: boolean;
  /** Milliseconds allowed for TCP + TLS + StartTLS. */
  timeout: number;
  decode: DecodeOptions;
}

type Handler = (res: LdapResponse) => void;

export class LdapConnection {
  private nextId = 1;
  private readonly handlers = new Map<number, Handler>();
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Total length of the message being buffered, or -1 while its header is incomplete. */
  private needed = -1;
  private closed = false;
  #received = 0;
  /** Called once when the connection ends; `error` is undefined for a close we asked for. */
  onClose: (error?: SyncreplError) => void = () => {};
  /** Single-response requests still waiting: they fail when the connection ends. */
  private readonly waiting = new Set<(error?: SyncreplError) => void>();

  /** This connection's own decoder: its name table and scratch space are shared with no other. */
  private readonly decoder: LdapDecoder;

  private constructor(
    private socket: net.Socket,
    readonly endpoint: string,
    decode: DecodeOptions,
  ) {
    this.decoder = new LdapDecoder(decode);
    this.attach(socket);
  }

  static async connect(opts: ConnectOptions): Promise<LdapConnection> {
    const { url } = opts;
    const endpoint = url.endpoint;
    const tlsOptions: tls.ConnectionOptions = {
      ...opts.tls,
      host: url.host,
      port: url.port,
      servername: opts.tls?.servername ?? (net.isIP(url.host) ? undefined : url.host),
    };
    const socket = url.secure
      ? nodeTls().connect(tlsOptions)
      : net.connect({ host: url.host, port: url.port });
    socket.setNoDelay(true);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once(url.secure ? 'secureConnect' : 'connect', () => resolve());
        socket.once('error', (err) => reject(socketError(endpoint, err, url.secure)));
      }),
      opts.timeout,
      endpoint,
      url.secure ? 'connecting with TLS' : 'connecting',
      () => socket.destroy(),
    );
    const conn = new LdapConnection(socket, endpoint, opts.decode);
    if (opts.startTLS && !url.secure) {
      try {
        await withTimeout(conn.startTls(tlsOptions), opts.timeout, endpoint, 'starting TLS', () =>
          conn.destroy(),
        );
      } catch (err) {
        conn.destroy(); // refused or failed: leave no socket behind
        throw err;
      }
    }
    return conn;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** How many chunks of bytes have arrived so far: a change means the server is alive. */
  get received(): number {
    return this.#received;
  }

  /** Ends the connection as failed with `error` (what `onClose` and pending requests get). */
  abort(error: SyncreplError): void {
    this.fail(error);
  }

  private attach(socket: net.Socket): void {
    socket.on('data', this.onData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('error', this.onSocketError);
    socket.off('close', this.onSocketClose);
  }

  private readonly onSocketError = (err: Error): void => {
    this.fail(
      socketError(this.endpoint, err, tlsLoaded !== undefined && this.socket instanceof tlsLoaded.TLSSocket),
    );
  };

  private readonly onSocketClose = (): void => {
    this.fail(new ConnectionError(this.endpoint, 'was closed by the server'));
  };

  /** Frames LDAPMessages on the byte stream (RFC 4511 §5.1) and dispatches them by messageID. */
  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    this.#received++;
    try {
      let buf: Buffer;
      if (this.buffered === 0) {
        buf = chunk;
      } else {
        this.chunks.push(chunk);
        this.buffered += chunk.length;
        if (this.needed < 0) {
          const head = Buffer.concat(this.chunks, this.buffered);
          this.chunks = [head];
          this.needed = elementLength(head, 0);
          if (this.needed > MAX_MESSAGE_BYTES) {
            throw new MalformedBerError(`a message announces ${this.needed} bytes`, 0);
          }
        }
        // A large entry split over many chunks is joined once, when it is complete.
        if (this.needed < 0 || this.buffered < this.needed) return;
        buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      }
      let offset = 0;
      while (!this.closed) {
        const len = elementLength(buf, offset);
        if (len > MAX_MESSAGE_BYTES) throw new MalformedBerError(`a message announces ${len} bytes`, offset);
        if (len < 0 || offset + len > buf.length) break;
        const res = this.decoder.decode(buf, offset, offset + len);
        offset += len;
        this.dispatch(res);
      }
      if (this.closed) return;
      if (offset < buf.length) {
        const rest = buf.subarray(offset);
        this.chunks = [rest];
        this.buffered = rest.length;
        this.needed = elementLength(rest, 0);
        if (this.needed > MAX_MESSAGE_BYTES) {
          throw new MalformedBerError(`a message announces ${this.needed} bytes`, offset);
        }
      } else {
        this.chunks = [];
        this.buffered = 0;
        this.needed = -1;
      }
    } catch (err) {
      this.fail(err instanceof SyncreplError ? err : new MalformedBerError(String(err)));
    }
  };

  private dispatch(res: LdapResponse): void {
    if (res.messageId === 0) {
      // Unsolicited notification (RFC 4511 §4.4): the server is about to drop us.
      if (res.kind === 'extended' && res.name === NOTICE_OF_DISCONNECTION_OID) {
        this.fail(
          new ConnectionError(
            this.endpoint,
            `was ended by the server (${res.result.diagnosticMessage || 'notice of disconnection'})`,
          ),
        );
      }
      return;
    }
    const handler = this.handlers.get(res.messageId);
    if (handler) handler(res);
  }

  private fail(error: SyncreplError): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    this.socket.destroy();
    this.notifyClosed(error);
  }

  /** Sends a request built for a fresh messageID; responses for it go to `handler`. */
  request(build: (messageId: number) => Buffer, handler?: Handler): number {
    const id = this.nextId++;
    if (this.nextId > 0x7fffffff) this.nextId = 1;
    if (handler) this.handlers.set(id, handler);
    if (!this.closed) this.socket.write(build(id));
    return id;
  }

  /** Stops delivering responses for a messageID. */
  release(messageId: number): void {
    this.handlers.delete(messageId);
  }

  /** Sends a request and resolves with its single response. */
  private requestOnce(build: (messageId: number) => Buffer): Promise<LdapResponse> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ConnectionError(this.endpoint, 'is closed'));
      const onClose = (err?: SyncreplError) =>
        reject(err ?? new ConnectionError(this.endpoint, 'was closed'));
      this.waiting.add(onClose);
      const id = this.request(build, (res) => {
        this.release(id);
        this.waiting.delete(onClose);
        resolve(res);
      });
    });
  }

  /** Simple bind (RFC 4511 §4.2); an empty DN and password is an anonymous bind. */
  async bindSimple(dn: string, password: string): Promise<void> {
    const res = await this.requestOnce((id) => encodeSimpleBind(id, dn, password));
    if (res.kind !== 'bind') throw new MalformedBerError('expected a BindResponse');
    if (res.result.resultCode !== 0) {
      throw new BindError(res.result.resultCode, dn, res.result.diagnosticMessage);
    }
  }

  /** SASL EXTERNAL bind (RFC 4422 Appendix A): the identity of the TLS client certificate. */
  async bindSaslExternal(authzId?: string): Promise<void> {
    // Always send an initial response (empty: the identity of the certificate), as
    // RFC 4422 §3.3 allows; without one, slapd answers saslBindInProgress and waits.
    const res = await this.requestOnce((id) => encodeSaslBind(id, 'EXTERNAL', authzId ?? ''));
    if (res.kind !== 'bind') throw new MalformedBerError('expected a BindResponse');
    if (res.result.resultCode !== 0) {
      throw new BindError(res.result.resultCode, authzId ?? 'SASL EXTERNAL', res.result.diagnosticMessage);
    }
  }

  /**
   * A base-scope search for one entry (e.g. the root DSE, `''`): its SearchResultEntry (attributes
   * or record, as this connection decodes entries); undefined when the search returned no entry or
   * failed.
   */
  async readBase(
    base: string,
    attributes: readonly string[],
  ): Promise<(LdapResponse & { kind: 'searchEntry' }) | undefined> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new ConnectionError(this.endpoint, 'is closed'));
      const onClose = (err?: SyncreplError) =>
        reject(err ?? new ConnectionError(this.endpoint, 'was closed'));
      this.waiting.add(onClose);
      let found: (LdapResponse & { kind: 'searchEntry' }) | undefined;
      const id = this.request(
        (messageId) =>
          encodeSearch(
            messageId,
            { base, scope: 'base', filter: '(objectClass=*)', attributes: [...attributes] },
            [],
          ),
        (res) => {
          if (res.kind === 'searchEntry') found ??= res;
          else if (res.kind === 'searchDone') {
            this.release(id);
            this.waiting.delete(onClose);
            resolve(res.result.resultCode === 0 ? found : undefined);
          }
        },
      );
    });
  }

  /** An extended operation with a single response (RFC 4511 §4.12). */
  async extended(oid: string, value?: Uint8Array): Promise<LdapResponse & { kind: 'extended' }> {
    const res = await this.requestOnce((id) => encodeExtended(id, oid, value));
    if (res.kind !== 'extended') throw new MalformedBerError('expected an ExtendedResponse');
    return res;
  }

  /** StartTLS (RFC 4511 §4.14): upgrade this connection in place. */
  private async startTls(tlsOptions: tls.ConnectionOptions): Promise<void> {
    const res = await this.extended(STARTTLS_OID);
    if (res.result.resultCode !== 0) {
      throw new TlsError(
        this.endpoint,
        `the server refused StartTLS (${res.result.diagnosticMessage || res.result.resultCode})`,
      );
    }
    const plain = this.socket;
    this.detach(plain);
    const { host: _host, port: _port, ...rest } = tlsOptions;
    this.socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = nodeTls().connect({ ...rest, socket: plain }, () => resolve(s));
      s.once('error', (err) => reject(socketError(this.endpoint, err, true)));
    });
    this.attach(this.socket);
  }

  /** Stops reading the socket (TCP backpressure on the server) until `resume()`. */
  pause(): void {
    if (!this.closed) this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  abandon(messageId: number): void {
    this.release(messageId);
    if (!this.closed) this.request((id) => encodeAbandon(id, messageId));
  }

  /** Unbind (RFC 4511 §4.3) and close the socket. */
  unbind(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    this.detach(this.socket);
    this.socket.on('error', () => {});
    this.socket.end(encodeUnbind(this.nextId++));
    this.socket.destroySoon();
    // The peer closes after an unbind; make sure nothing lingers if it does not.
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.notifyClosed(undefined);
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    this.detach(this.socket);
    this.socket.on('error', () => {});
    this.socket.destroy();
    this.notifyClosed(undefined);
  }

  private notifyClosed(error: SyncreplError | undefined): void {
    for (const w of [...this.waiting]) w(error);
    this.waiting.clear();
    this.onClose(error);
  }
}

function socketError(endpoint: string, err: Error, secure: boolean): SyncreplError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (
    secure &&
    (code.startsWith('ERR_SSL') ||
      code.startsWith('ERR_TLS') ||
      /certificate|ssl|tls/i.test(err.message) ||
      code.includes('CERT') ||
      code === 'DEPTH_ZERO_SELF_SIGNED_CERT')
  ) {
    return new TlsError(endpoint, err.message, { cause: err });
  }
  if (code === 'ECONNREFUSED') return new ConnectionError(endpoint, 'was refused', { cause: err });
  if (code === 'ECONNRESET') return new ConnectionError(endpoint, 'was reset', { cause: err });
  return new ConnectionError(endpoint, `failed: ${err.message}`, { cause: err });
}

/**
 * Settles like `p`, or rejects with TimeoutError after `ms` (after running `onTimeout`, which
 * releases whatever `p` was waiting on).
 */
export function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  endpoint: string,
  phase: string,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(endpoint, phase, ms));
    }, ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

let tlsLoaded: typeof tls | undefined;
/** node:tls (and with it node:crypto), loaded by the first ldaps:// or StartTLS connection only. */
function nodeTls(): typeof tls {
  return (tlsLoaded ??= createRequire(import.meta.url)('node:tls') as typeof tls);
}
