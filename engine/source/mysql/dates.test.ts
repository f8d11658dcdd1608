import { describe, expect, it } from 'vitest';
import { Refusal } from './copy-out.ts';
import { checkCalendar, dayMicros, pgDays } from './dates.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const days = (s: string) => pgDays(b(s), 0, s.length);
const micros = (s: string) => dayMicros(b(s), 0, s.length);
const refusal = (s: string) => {
  try {
    checkCalendar(b(s), 0, s.length);
  } catch (e) {
    return e instanceof Refusal ? e.why : e;
  }
  return undefined;
};

describe('MySQL dates for binary COPY', () => {
  it('counts days from 2000-01-01 across leap years and centuries', () => {
    expect(days('2000-01-01')).toBe(0);
    expect(days('1999-12-31')).toBe(-1);
    expect(days('2000-03-01')).toBe(60);
    expect(days('1970-01-01')).toBe(-10957);
    expect(days('1900-03-01') - days('1900-02-28')).toBe(1);
    expect(days('2001-01-01 10:00:00')).toBe(366);
    expect(days('0001-01-01')).toBe(-730119);
    expect(days('9999-12-31')).toBe(2921939);
  });

  it('counts microseconds into the day for every fractional precision', () => {
    expect(micros('2000-01-01')).toBe(0);
    expect(micros('2000-01-01 00:00:01')).toBe(1_000_000);
    expect(micros('2000-01-01 23:59:59.999999')).toBe(86_399_999_999);
    expect(micros('2000-01-01 00:00:00.5')).toBe(500_000);
    expect(micros('2000-01-01 00:00:00.123')).toBe(123_000);
    expect(micros('2000-01-01 00:00:00.00001')).toBe(10);
  });

  it('refuses what is not on the calendar, which MySQL may store', () => {
    for (const s of ['2023-02-29', '1900-02-29', '2024-04-31 00:00:00', '2024-13-01', '2024-01-01 24:00:00'])
      expect(refusal(s), s).toMatch(/^the date .* which is not on the calendar/);
    for (const s of ['2024-02-29', '2000-02-29 23:59:59.999999', '2024-12-31 00:00:00.1'])
      expect(refusal(s), s).toBeUndefined();
  });
});
