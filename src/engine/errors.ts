/**
 * The engine's path to the app's one error class and its ErrorInfo conversion,
 * which live in src/shared/errors.ts (runtime-neutral, also used by the main
 * process's services). New code imports them from there.
 */
export { toErrorInfo, UserError } from '../shared/errors.js';
