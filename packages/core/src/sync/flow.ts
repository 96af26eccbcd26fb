/**
 * Backpressure for a syncrepl stream. RxJS pushes; a consumer that cannot keep up (a slow pipe, a
 * database) pauses the flow: the connection stops reading its socket, TCP pushes back on the
 * server, and nothing piles up in this process. What was already read still arrives (at most one
 * socket chunk); `resume()` reads on.
 *
 * @example
 * const flow = new FlowControl();
 * syncrepl({ ...options, flow }).subscribe((m) => {
 *   if (!process.stdout.write(JSON.stringify(m) + '\n') && !flow.paused) {
 *     flow.pause();
 *     process.stdout.once('drain', () => flow.resume());
 *   }
 * });
 */
export class FlowControl {
  #paused = false;
  readonly #listeners = new Set<(paused: boolean) => void>();

  get paused(): boolean {
    return this.#paused;
  }

  pause(): void {
    this.#set(true);
  }

  resume(): void {
    this.#set(false);
  }

  /** Calls `listener` with the current state now and on every change; returns the unsubscribe. */
  observe(listener: (paused: boolean) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#paused);
    return () => this.#listeners.delete(listener);
  }

  #set(paused: boolean): void {
    if (this.#paused === paused) return;
    this.#paused = paused;
    for (const l of [...this.#listeners]) l(paused);
  }
}
