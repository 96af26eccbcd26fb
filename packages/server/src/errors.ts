/** An error with the HTTP status it should produce; passed to `next(err)` by the middleware. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }

  /** Express' default error handler honours `statusCode`/`status` and `expose`. */
  get statusCode(): number {
    return this.status;
  }
  get expose(): boolean {
    return this.status < 500 || this.status === 503;
  }
}
