/**
 * What tabs share a stream with (SPEC.md M1, M2, M9, M10): the Web Locks API that elects the
 * leader, the BroadcastChannel that relays, and the page lifecycle that makes a frozen leader let
 * go; in the shape tabs.ts needs, so that tests pass fakes (test/fixtures/tabs.ts) and a browser
 * passes `browserSharing()`.
 */
/** The part of the Web Locks API (`navigator.locks`) a tab needs. */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: (lock: unknown) => Promise<unknown>,
  ): Promise<unknown>;
}

/** The part of a BroadcastChannel a tab needs (messages are structured-cloned, in order per sender). */
export interface ChannelLike {
  postMessage(message: unknown): void;
  /** Set by the group: called with each message's data. */
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  close(): void;
}

/** What tabs share a stream with: Web Locks, BroadcastChannel, and (optionally) the page lifecycle. */
export interface TabSharing {
  readonly locks: LockManagerLike;
  /** Opens a channel to the other tabs (a `BroadcastChannel` of that name). */
  readonly channel: (name: string) => ChannelLike;
  /**
   * Calls `pause` when the page is frozen or put in the back/forward cache (a frozen leader must
   * let go: M9) and `resume` when it comes back; returns a function that stops listening.
   */
  readonly lifecycle?: (pause: () => void, resume: () => void) => () => void;
}

/**
 * The browser's Web Locks and BroadcastChannel, or undefined where either is missing (old
 * browsers, Node 20): then each collection works alone.
 */
export function browserSharing(): TabSharing | undefined {
  type Listener = (event: { persisted?: boolean }) => void;
  interface Target {
    addEventListener(type: string, listener: Listener): void;
    removeEventListener(type: string, listener: Listener): void;
  }
  interface NativeChannel {
    postMessage(message: unknown): void;
    onmessage: ((event: { data: unknown }) => void) | null;
    close(): void;
  }
  const g = globalThis as unknown as Partial<Target> & {
    navigator?: { locks?: LockManagerLike };
    BroadcastChannel?: new (name: string) => NativeChannel;
    document?: Target;
  };
  const locks = g.navigator?.locks;
  const Channel = g.BroadcastChannel;
  if (!locks || typeof locks.request !== 'function' || typeof Channel !== 'function') return undefined;
  const doc = g.document;
  const win = typeof g.addEventListener === 'function' ? (g as Target) : undefined;
  return {
    locks,
    channel: (name) => {
      const native = new Channel(name);
      const channel: ChannelLike = {
        postMessage: (message) => native.postMessage(message),
        onmessage: null,
        close: () => native.close(),
      };
      native.onmessage = (event) => channel.onmessage?.(event);
      return channel;
    },
    lifecycle:
      doc && win
        ? (pause, resume) => {
            // Page Lifecycle: `freeze` / `resume`; the back/forward cache: `pagehide` / `pageshow`
            // with `persisted`.
            const onHide: Listener = (e) => void (e.persisted && pause());
            const onShow: Listener = (e) => void (e.persisted && resume());
            doc.addEventListener('freeze', pause);
            doc.addEventListener('resume', resume);
            win.addEventListener('pagehide', onHide);
            win.addEventListener('pageshow', onShow);
            return () => {
              doc.removeEventListener('freeze', pause);
              doc.removeEventListener('resume', resume);
              win.removeEventListener('pagehide', onHide);
              win.removeEventListener('pageshow', onShow);
            };
          }
        : undefined,
  };
}
