/**
 * JSON with object keys sorted at every level, so that equal values give
 * equal text whatever order their keys were written in (by Python's json or
 * by JavaScript): the form to compare or hash.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}
