import type { ErrorInfo } from '../../shared/errors.js';

/** A request the services refuse, with what the user should do (becomes an ErrorInfo reply). */
export class ServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
  }

  toInfo(): ErrorInfo {
    return { code: this.code, message: this.message, fix: this.fix };
  }
}
