import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/shared/duration.js';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and their combinations', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('15m')).toBe(900);
    expect(parseDuration('15min')).toBe(900);
    expect(parseDuration('1h')).toBe(3600);
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('2m 30s')).toBe(150);
    expect(parseDuration('2.5m')).toBe(150);
    expect(parseDuration(' 45 ')).toBe(45);
    expect(parseDuration('1H')).toBe(3600);
  });

  it('refuses what is not a duration', () => {
    for (const text of ['', 'm', '15 minutes', '-5m', '5d', '1h2h', 'abc', '1e3']) {
      expect(parseDuration(text), text).toBeNull();
    }
  });
});
