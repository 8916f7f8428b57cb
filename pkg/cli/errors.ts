/** A failure already phrased for the user: printed as is, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Bad command line: printed with a pointer to --help, exit 2. */
export class UsageError extends CliError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message, 2);
  }
}

/** orlojd could not be reached at all (refused, DNS, TLS, ...). */
export class ConnectionError extends CliError {}

interface Cause {
  field?: string;
  message?: string;
}

/** The Kubernetes Status body orlojd answers errors with (fields may be missing on odd replies). */
export interface StatusBody {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
  details?: { causes?: Cause[] };
}

/** An error answer from the server, formatted kubectl style. */
export class ServerError extends CliError {
  readonly reason: string;
  constructor(
    readonly code: number,
    statusText: string,
    readonly body: StatusBody | undefined,
    text: string,
  ) {
    const reason = body?.reason || statusText.replace(/\s+/g, '') || `HTTP${code}`;
    super(formatServerError(reason, body?.message || text.trim() || `HTTP ${code}`, body?.details?.causes ?? []));
    this.reason = reason;
  }
}

function formatServerError(reason: string, message: string, causes: Cause[]): string {
  // The server usually folds causes into the message; list only those it left out.
  const missing = causes.filter((c) => !message.includes(c.field ?? c.message ?? ''));
  const lines = missing.map((c) => `  * ${c.field ? `${c.field}: ` : ''}${c.message ?? 'invalid'}`);
  return [`Error from server (${reason}): ${message}`, ...lines].join('\n');
}

export function isNotFound(e: unknown): boolean {
  return e instanceof ServerError && e.code === 404;
}

/** The text to print for any error; unexpected ones get their message only. */
export function describeError(e: unknown): string {
  if (e instanceof CliError) return e.message.startsWith('Error from server') ? e.message : `error: ${e.message}`;
  return `error: ${e instanceof Error ? e.message : String(e)}`;
}
