/**
 * The app window's Content-Security-Policy: scripts and connections only
 * from the app itself, images from the app or data: URLs (sample grids),
 * no objects, frames only for the report (srcdoc), no remote content at all.
 * Inline style attributes are allowed (Svelte and chart.js set them); inline
 * scripts are not. The same string is in src/renderer/index.html (a test
 * checks they match) and is sent as a header by the browser-mode server.
 */
export const APP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "frame-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');
