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
