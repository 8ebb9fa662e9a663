import { describe, expect, it } from 'vitest';
import { formatDurationFlag, parseDuration } from '../../src/shared/duration.js';

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

describe('formatDurationFlag', () => {
  it('writes the shortest text that parseDuration reads back to the same seconds', () => {
    expect(formatDurationFlag(900)).toBe('15m');
    expect(formatDurationFlag(5400)).toBe('1h30m');
    expect(formatDurationFlag(3600)).toBe('1h');
    expect(formatDurationFlag(90)).toBe('90s');
    expect(formatDurationFlag(2.5)).toBe('2.5s');
    for (const seconds of [1, 59, 60, 61, 90, 900, 3599, 3600, 5400, 86_400, 2_592_000, 0.5]) {
      expect(parseDuration(formatDurationFlag(seconds)), String(seconds)).toBe(seconds);
    }
  });
});
