import type { ErrorInfo } from '../shared/errors.js';

/**
 * An error caused by the user's input (a file, a setting, a dataset), as
 * opposed to a bug. It always says what is wrong and how to fix it; callers
 * print it as one line and exit non-zero, or send it over IPC as ErrorInfo.
 */
export class UserError extends Error {
  override readonly name = 'UserError';

  constructor(
    readonly code: string,
    message: string,
    readonly fix: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toInfo(): ErrorInfo {
    const details = this.cause instanceof Error ? (this.cause.stack ?? this.cause.message) : undefined;
    return { code: this.code, message: this.message, fix: this.fix, ...(details ? { details } : {}) };
  }
}

/** Converts anything thrown into ErrorInfo; unknown errors are reported as bugs. */
export function toErrorInfo(error: unknown): ErrorInfo {
  if (error instanceof UserError) return error.toInfo();
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    code: 'INTERNAL',
    message: `Unexpected internal error: ${err.message}`,
    fix: 'Please report this with the details shown by --verbose',
    details: err.stack ?? err.message,
  };
}
