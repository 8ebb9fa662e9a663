import { readFileSync } from 'node:fs';

/** The app version from package.json, recorded in every artifact. */
export const APP_VERSION: string = (() => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string')
      return pkg.version;
  } catch {
    // Bundled builds may not ship package.json next to the engine; fall through.
  }
  return '0.0.0-unknown';
})();
