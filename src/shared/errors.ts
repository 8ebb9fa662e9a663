/**
 * The shape of every error that crosses a process boundary or reaches a user.
 * `message` names the problem, `fix` says what to do next; `details` (a stack
 * trace, a file path) is for the "show details" toggle and for logs only.
 */
export interface ErrorInfo {
  /** A stable machine-readable code, e.g. `MODEL_JSON_INVALID`. */
  code: string;
  /** One sentence naming the problem, in the user's words. */
  message: string;
  /** One sentence saying how to fix it. */
  fix: string;
  /** Optional technical details (never shown by default). */
  details?: string;
}

/** Formats an error as the single line the command line prints. */
export function formatErrorLine(error: ErrorInfo): string {
  const problem = error.message.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  const fix = error.fix.replace(/\s+/g, ' ').trim().replace(/\.$/, '');
  return `error: ${problem}. Fix: ${fix}.`;
}

/**
 * An error caused by the user's input (a file, a setting, a dataset, a request
 * the services refuse), as opposed to a bug. It always says what is wrong and
 * how to fix it; callers print it as one line and exit non-zero, or send it
 * across a process boundary as ErrorInfo. The one error class of the app: the
 * engine, the workers, the command line and the main process's services all
 * throw it.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  private readonly details: string | undefined;

  constructor(
    readonly code: string,
    message: string,
    readonly fix: string,
    options?: { cause?: unknown; details?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.details = options?.details;
  }

  /** An ErrorInfo another process already worded for the user, thrown again as it is. */
  static fromInfo(info: ErrorInfo): UserError {
    return new UserError(info.code, info.message, info.fix, info.details ? { details: info.details } : {});
  }

  toInfo(): ErrorInfo {
    const details =
      this.details ?? (this.cause instanceof Error ? (this.cause.stack ?? this.cause.message) : undefined);
    return { code: this.code, message: this.message, fix: this.fix, ...(details ? { details } : {}) };
  }
}

/** How an unexpected error (a bug, not a UserError) is worded: the command line's words by default. */
export type UnexpectedWording = (error: Error) => ErrorInfo;

const reportWithVerbose: UnexpectedWording = (err) => ({
  code: 'INTERNAL',
  message: `Unexpected internal error: ${err.message}`,
  fix: 'Please report this with the details shown by --verbose',
  details: err.stack ?? err.message,
});

/**
 * Converts anything thrown into ErrorInfo: a UserError as it is, anything else
 * as a bug, worded by `unexpected` (the app's services word it for a window,
 * the command line and workers point at --verbose).
 */
export function toErrorInfo(error: unknown, unexpected: UnexpectedWording = reportWithVerbose): ErrorInfo {
  if (error instanceof UserError) return error.toInfo();
  return unexpected(error instanceof Error ? error : new Error(String(error)));
}
