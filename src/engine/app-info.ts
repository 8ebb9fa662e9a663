import { readFileSync } from 'node:fs';

/** The app version from package.json, recorded in every artifact. */
export const APP_VERSION: string = (() => {
  try {
    const root = process.env['DISTILL_STUDIO_ROOT'];
    const file = root ? `${root}/package.json` : new URL('../../package.json', import.meta.url);
    const pkg: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (pkg && typeof pkg === 'object' && 'version' in pkg && typeof pkg.version === 'string')
      return pkg.version;
  } catch {
    // Bundled builds may not ship package.json next to the engine; fall through.
  }
  return '0.0.0-unknown';
})();
