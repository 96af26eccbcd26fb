/**
 * One small error class per failure. Each sets `name` (as a literal, so minifiers cannot rename
 * it), and its message says what happened and what to do. Messages quote the server's own
 * explanation when it sent one, but never request headers: those may carry credentials.
 */

/** The base of every error this package raises; `retryable` says whether trying again can help. */
export abstract class SyncClientError extends Error {
  abstract readonly retryable: boolean;
}

/** Parses `{ "error": "..." }` (our server's error body) or takes the text as it is. */
function serverSays(body: string): string {
  const text = body.trim();
  if (text === '') return '';
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && 'error' in parsed && typeof parsed.error === 'string') {
      return `: ${parsed.error}`;
    }
  } catch {
    // not JSON: use the text
  }
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}

/** A response status that trying again will not change (any 4xx but 408 and 429). */
export class HttpError extends SyncClientError {
  override name = 'HttpError';
  readonly retryable: boolean = false;
  constructor(
    readonly url: string,
    readonly status: number,
    readonly serverMessage: string,
    advice = 'Check the stream URL.',
  ) {
    super(`GET ${url} answered ${status}${serverSays(serverMessage)}. ${advice}`);
  }
}

/**
 * 400: the server rejected the request. With our server that is an unknown `filter_*` parameter, or
 * a resume cookie over 1024 bytes or with control characters (docs/stream-contract.md §K4). The
 * collection handles the cookie case itself: it drops the stored copy and replays once without a
 * cookie.
 */
export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(url: string, serverMessage: string) {
    super(
      url,
      400,
      serverMessage,
      'Check the query parameters of the stream URL; a rejected resume cookie is dropped by the collection.',
    );
  }
}

/** 401: the stream needs credentials the request did not carry. */
export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(url: string, serverMessage: string) {
    super(
      url,
      401,
      serverMessage,
      'Sign in and pass the credentials with the `headers` option (or a `fetch` that adds them), then call reconnect().',
    );
  }
}

/** 403: the credentials are valid but may not read this stream. */
export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(url: string, serverMessage: string) {
    super(
      url,
      403,
      serverMessage,
      'These credentials may not read this stream: ask for access or subscribe to a narrower one.',
    );
  }
}

/** A 2xx response that is not `text/event-stream`: not a stream endpoint, or a proxy rewrote it. */
export class NotAnEventStreamError extends SyncClientError {
  override name = 'NotAnEventStreamError';
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly contentType: string,
  ) {
    super(
      `GET ${url} answered with Content-Type ${JSON.stringify(contentType)} instead of text/event-stream. ` +
        'Point the client at a stream endpoint (a listing URL with ?subscribe=1 on a syncrepl-rx server).',
    );
  }
}

/** Every attempt failed and `backoff.maxAttempts` is used up. */
export class RetriesExhaustedError extends SyncClientError {
  override name = 'RetriesExhaustedError';
  readonly retryable = true;
  constructor(
    readonly url: string,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `GET ${url} failed ${attempts} times in a row (last: ${describe(cause)}). ` +
        'Check that the server is reachable, then call reconnect(); or raise backoff.maxAttempts.',
      { cause },
    );
  }
}

/**
 * An `entry` event that is not `{ entryUUID, syncOp, body }` (docs/stream-contract.md §E1). The
 * collection stops rather than guess, so that its state (and the stored copy) stays exact.
 */
export class MalformedEventError extends SyncClientError {
  override name = 'MalformedEventError';
  readonly retryable = false;
  constructor(
    readonly url: string,
    readonly reason: string,
    readonly data: string,
  ) {
    super(
      `${url} sent an entry event that ${reason}: ${data.length > 120 ? `${data.slice(0, 120)}…` : data}. ` +
        'The collection stopped to keep its state exact; check that the URL is a syncrepl-rx stream.',
    );
  }
}

/**
 * IndexedDB refused a write (quota exceeded, storage evicted, private mode...). The collection
 * goes on in memory; the stored copy is cleared so that a reload replays from the server.
 */
export class StorageError extends SyncClientError {
  override name = 'StorageError';
  readonly retryable = false;
  constructor(
    readonly operation: 'read' | 'write',
    cause: unknown,
  ) {
    super(
      `Could not ${operation} the local copy in IndexedDB (${describe(cause)}). ` +
        'The collection keeps working in memory; free some storage, or pass `store: null` to not persist.',
      { cause },
    );
  }
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.message ? `${err.name}: ${err.message}` : err.name;
  return String(err);
}
