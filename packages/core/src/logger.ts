/**
 * The one logger shape of syncrepl-rx: `syncrepl()`, `replicate()`, the stores and the server's
 * middleware all take it (the client logs nothing). Every method is optional: what is absent is
 * not logged. `console` fits. Nothing logged through it ever contains a credential.
 */
export interface Logger {
  debug?(message: string, fields?: Record<string, unknown>): void;
  info?(message: string, fields?: Record<string, unknown>): void;
  warn?(message: string, fields?: Record<string, unknown>): void;
  error?(message: string, fields?: Record<string, unknown>): void;
}
