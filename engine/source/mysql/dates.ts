// MySQL's dates as its text protocol sends them (`2024-02-29`, `2024-02-29 12:34:56.789012`): zero
// dates, which MySQL allows and PostgreSQL has none of, and the calendar arithmetic binary COPY needs
// (days since 2000-01-01, microseconds into the day), in integers well inside a double's exact range.
import type { Conversion } from '../../api/settings.ts';
import { refuse } from './copy-out.ts';

const isZero = (b: Buffer, at: number) => b[at] === 0x30 && b[at + 1] === 0x30;

/** A date (at `at`) whose year, month or day is zero: MySQL allows them, PostgreSQL has none. */
export function zeroDate(b: Buffer, at: number): boolean {
  return (isZero(b, at) && isZero(b, at + 2)) || isZero(b, at + 5) || isZero(b, at + 8);
}

/** What a zero date becomes under spec.conversion.zeroDates (NULL or -infinity); Refuse refuses it. */
export function zeroDateAs(conv: Conversion, b: Buffer, start: number, end: number): 'null' | 'sentinel' {
  if (conv.zeroDates === 'Nullify') return 'null';
  if (conv.zeroDates === 'Sentinel') return 'sentinel';
  return refuse(
    `the zero date ${b.toString('latin1', start, end)}, which PostgreSQL cannot hold (spec.conversion.zeroDates: Nullify or Sentinel)`,
  );
}

/** The number in `n` ASCII digits at `at`, or -1 when one is not a digit. */
function digits(b: Buffer, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, m: number, d: number): number {
  const y = m <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** PostgreSQL's epoch, 2000-01-01, in days from 1970-01-01. */
const PG_EPOCH = 10957;

const offCalendar = (b: Buffer, start: number, end: number): never =>
  refuse(
    `the date ${b.toString('latin1', start, end)}, which is not on the calendar (MySQL stores it under ALLOW_INVALID_DATES; PostgreSQL cannot hold it)`,
  );

/** The last date counted, and its days: rows written in time order share their dates. */
const lastDate = Buffer.alloc(10);
let lastDays = NaN;

/** The days from 2000-01-01 to the date that starts the value (not a zero date: checked before). */
export function pgDays(b: Buffer, start: number, end: number): number {
  if (end - start >= 10 && !Number.isNaN(lastDays)) {
    let k = 0;
    while (k < 10 && b[start + k] === lastDate[k]) k++;
    if (k === 10) return lastDays;
  }
  const days = countDays(b, start, end);
  b.copy(lastDate, 0, start, start + 10);
  lastDays = days;
  return days;
}

function countDays(b: Buffer, start: number, end: number): number {
  const y = digits(b, start, 4);
  const m = digits(b, start + 5, 2);
  const d = digits(b, start + 8, 2);
  if (
    end - start < 10 ||
    b[start + 4] !== 0x2d ||
    b[start + 7] !== 0x2d ||
    y < 1 ||
    m < 1 ||
    m > 12 ||
    d < 1 ||
    d > (m === 2 && leap(y) ? 29 : DAYS_IN_MONTH[m - 1]!)
  )
    return offCalendar(b, start, end);
  return daysFromCivil(y, m, d) - PG_EPOCH;
}

/** Microseconds in a unit of the n-th fractional digit. */
const SCALE = [0, 100_000, 10_000, 1000, 100, 10, 1];

/** The number in two ASCII digits at `at`, or -1 when one is not a digit. */
function two(b: Buffer, at: number): number {
  const hi = b[at]! - 0x30;
  const lo = b[at + 1]! - 0x30;
  return hi >= 0 && hi <= 9 && lo >= 0 && lo <= 9 ? hi * 10 + lo : -1;
}

/** Microseconds into the day of `YYYY-MM-DD[ HH:MM:SS[.f...]]` (0 for a date alone). */
export function dayMicros(b: Buffer, start: number, end: number): number {
  const n = end - start;
  if (n === 10) return 0;
  const h = two(b, start + 11);
  const mi = two(b, start + 14);
  const s = two(b, start + 17);
  const places = n - 20;
  const frac = places > 0 ? digits(b, start + 20, places) : 0;
  if (
    n < 19 ||
    n === 20 ||
    places > 6 ||
    b[start + 10] !== 0x20 ||
    b[start + 13] !== 0x3a ||
    b[start + 16] !== 0x3a ||
    (n > 19 && b[start + 19] !== 0x2e) ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    s < 0 ||
    s > 59 ||
    frac < 0
  )
    return offCalendar(b, start, end);
  return ((h * 60 + mi) * 60 + s) * 1_000_000 + frac * SCALE[Math.max(places, 0)]!;
}

/** Refuses a date or datetime that is not on the calendar (COPY text: PostgreSQL would, without naming it). */
export function checkCalendar(b: Buffer, start: number, end: number): void {
  pgDays(b, start, end);
  dayMicros(b, start, end);
}
