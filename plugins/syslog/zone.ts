// Wall-clock → instant conversion for RFC 3164 timestamps, which carry neither a year nor a
// zone: the configured `timezone` (local, UTC, a fixed offset or an IANA name) and year
// inference (a December message received in January belongs to last year).

/** Converts a wall-clock time in one zone to epoch milliseconds. */
export type WallClock = (year: number, month: number, day: number, msOfDay: number) => number;

const RE_OFFSET = /^([+-])(\d{2}):?(\d{2})$/;

/** Build the converter for `timezone` (`local`, `UTC`, `+01:00`, `Europe/Berlin`); throws on an unknown zone. */
export function wallClockIn(timezone: string): WallClock {
  const tz = timezone.trim();
  if (tz === 'local') return (y, mo, d, ms) => new Date(y, mo, d).getTime() + ms;
  if (/^(utc|gmt|z)$/i.test(tz)) return (y, mo, d, ms) => Date.UTC(y, mo, d) + ms;
  const fixed = RE_OFFSET.exec(tz);
  if (fixed) {
    const offsetMs = (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3])) * 60_000;
    return (y, mo, d, ms) => Date.UTC(y, mo, d) + ms - offsetMs;
  }
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric',
    hour: 'numeric', minute: 'numeric', second: 'numeric',
  });
  // Offsets change at most a few times a year: cache them per wall-clock hour, since
  // Intl formatting costs microseconds and this runs per message.
  const cache = new Map<number, number>();
  const offsetAt = (instant: number): number => {
    const p: Record<string, number> = {};
    for (const part of fmt.formatToParts(new Date(instant))) if (part.type !== 'literal') p[part.type] = Number(part.value);
    const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
    return asUtc - Math.floor(instant / 1000) * 1000;
  };
  return (y, mo, d, ms) => {
    const wall = Date.UTC(y, mo, d) + ms;
    const hour = Math.floor(wall / 3_600_000);
    let offset = cache.get(hour);
    if (offset === undefined) {
      offset = offsetAt(wall - offsetAt(wall));
      if (cache.size > 10_000) cache.clear();
      cache.set(hour, offset);
    }
    return wall - offset;
  };
}

/** True when `timezone` is accepted by wallClockIn. */
export function isValidTimezone(timezone: string): boolean {
  try {
    wallClockIn(timezone);
    return true;
  } catch {
    return false;
  }
}

const DAY_MS = 86_400_000;

/**
 * The instant of a year-less timestamp: the latest of next, this and last year that is not more
 * than a day ahead of `now` (clocks drift; a message from the future by more is from last year).
 */
export function instantWithoutYear(wall: WallClock, month: number, day: number, msOfDay: number, now: number): number {
  const year = new Date(now).getUTCFullYear();
  for (const y of [year + 1, year, year - 1]) {
    const t = wall(y, month, day, msOfDay);
    if (t <= now + DAY_MS) return t;
  }
  return wall(year - 2, month, day, msOfDay);
}
