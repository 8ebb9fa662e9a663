import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatCount,
  formatDate,
  formatDuration,
  formatNumber,
  formatPercent,
  formatRatio,
  NOT_AVAILABLE,
} from '../../src/shared/format.js';

// The one formatter each for durations, counts and bytes: the command line, the app and the
// report all print through these, so their text is pinned here.

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [0.000412, '0.412 ms'],
    [0.003214, '3.21 ms'],
    [0.0032, '3.20 ms'],
    [0.00092, '0.920 ms'],
    [0.00006, '0.060 ms'],
    [0.1, '100 ms'],
    [0.412, '412 ms'],
    [0.99996, '1 s'],
    [1.25, '1.25 s'],
    [5.5, '5.50 s'],
    [19.999, '20 s'],
    [20, '20 s'],
    [42.25, '42.3 s'],
    [59.96, '1 min'],
    [90, '1 min 30 s'],
    [192, '3 min 12 s'],
    [300, '5 min'],
    [3599.6, '1 h'],
    [3600, '1 h'],
    [3900, '1 h 5 min'],
    [5430, '1 h 30 min'],
  ])('%d s -> %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it('writes whole seconds for clocks and estimates, and never a negative time', () => {
    expect(formatDuration(12.4, { whole: true })).toBe('12 s');
    expect(formatDuration(59.6, { whole: true })).toBe('1 min');
    expect(formatDuration(3725, { whole: true })).toBe('1 h 2 min');
    expect(formatDuration(-3)).toBe('0 s');
    expect(formatDuration(-3, { whole: true })).toBe('0 s');
  });

  it('says n/a for a missing or non-finite duration', () => {
    for (const value of [null, undefined, Number.NaN, Infinity])
      expect(formatDuration(value)).toBe(NOT_AVAILABLE);
  });

  it('reads the same as a time budget is set: no zero parts', () => {
    expect([20, 90, 300, 900, 3600, 5400].map((s) => formatDuration(s))).toEqual([
      '20 s',
      '1 min 30 s',
      '5 min',
      '15 min',
      '1 h',
      '1 h 30 min',
    ]);
  });
});

describe('formatCount', () => {
  it('writes exact counts with thousands separators, whatever the locale', () => {
    expect(formatCount(0)).toBe('0');
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1000)).toBe('1,000');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(1234.5)).toBe('1,235');
    expect(formatCount(-61_706)).toBe('-61,706');
    expect(formatCount(-0.2)).toBe('0');
    expect(formatCount(Number.NaN)).toBe(NOT_AVAILABLE);
  });

  it.each([
    [0, '0'],
    [512, '512'],
    [950, '950'],
    [12.345, '12.3'],
    [999.6, '1k'],
    [15_738, '15.7k'],
    [61_706, '61.7k'],
    [846_000, '846k'],
    [999_950, '1M'],
    [4_200_000, '4.2M'],
    [11_173_962, '11.2M'],
    [556_000_000, '556M'],
    [1_113_696_256, '1.11G'],
    [2.5e12, '2.5T'],
    [-1500, '-1.5k'],
  ])('compact: %d -> %s', (value, text) => {
    expect(formatCount(value, { compact: true })).toBe(text);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [250, '250 B'],
    [1023, '1023 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [250_000, '244.1 KiB'],
    [1024 * 1024 - 10, '1 MiB'],
    [3 * 1024 * 1024, '3 MiB'],
    [32 * 1024 * 1024 + 1, '32 MiB'],
    [544 * 1024 * 1024, '544 MiB'],
    [1024 ** 3 + 1, '1 GiB'],
    [2.5 * 1024 ** 4, '2.5 TiB'],
  ])('%d -> %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('says n/a for an unknown size', () => {
    expect(formatBytes(undefined)).toBe(NOT_AVAILABLE);
  });
});

describe('other numbers for people', () => {
  it('percentages, ratios, plain numbers and dates', () => {
    expect(formatPercent(0.98934)).toBe('98.93%');
    expect(formatPercent(0.98934, 1)).toBe('98.9%');
    expect(formatPercent(Number.NaN)).toBe(NOT_AVAILABLE);
    expect(formatRatio(4.0002)).toBe('4x');
    expect(formatRatio(3.46)).toBe('3.5x');
    expect(formatRatio(12.4)).toBe('12x');
    expect(formatNumber(0.001)).toBe('0.001');
    expect(formatNumber(0.00001)).toBe('1.00e-5');
    expect(formatDate('2025-03-14T10:22:31.000Z')).toBe('2025-03-14 10:22 UTC');
    expect(formatDate('not a date')).toBe('not a date');
  });
});
