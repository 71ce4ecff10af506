// The office's clock (Europe/London), whatever the zone of the computer the page runs on: a time a
// worker types is the time the office's clock showed, and an instant the API gives is shown as that
// clock showed it. The browser's own zone is never used.
export const OFFICE_TZ = 'Europe/London';

const parts = new Intl.DateTimeFormat('en-GB', {
  timeZone: OFFICE_TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

const pad = (n, width = 2) => String(n).padStart(width, '0');

// What the office's clock showed at an instant (ms since 1970): numbers, and the date as YYYY-MM-DD.
export function officeClock(ms) {
  const p = Object.fromEntries(parts.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
  const clock = { year: Number(p.year), month: Number(p.month), day: Number(p.day), hour: Number(p.hour), minute: Number(p.minute), second: Number(p.second) };
  clock.date = `${pad(clock.year, 4)}-${pad(clock.month)}-${pad(clock.day)}`;
  return clock;
}

// Today on the office's clock, as the API writes dates (YYYY-MM-DD).
export function officeToday() {
  return officeClock(Date.now()).date;
}

// How far the office's clock was ahead of UTC at an instant, in minutes (0 in winter, 60 in summer).
function offsetAt(ms) {
  const c = officeClock(ms);
  const shown = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second);
  return Math.round((shown - Math.floor(ms / 1000) * 1000) / 60000);
}

// The instant at which the office's clock showed a date (YYYY-MM-DD) and a time of day, as RFC 3339
// with the office's offset then ('2025-10-26T01:30:00+00:00'): { value }, or { skipped: true } when
// the clock never showed it (the hour skipped when the clocks go forward). The hour the clocks go
// back over is shown twice; it is read as its second showing (GMT), as `tessera import` reads it
// (services/consultations/imports.c), so that the UI and an import record the same instant.
export function officeInstant(date, hour, minute) {
  const [y, m, d] = date.split('-').map(Number);
  const asUtc = Date.UTC(y, m - 1, d, hour, minute);
  // The offsets in force around that day: a zone changes its offset at most once in two days.
  const offsets = new Set([offsetAt(asUtc - 86400e3), offsetAt(asUtc), offsetAt(asUtc + 86400e3)]);
  const readings = [...offsets].filter((o) => offsetAt(asUtc - o * 60000) === o).sort((a, b) => a - b);
  if (!readings.length) return { skipped: true };
  const offset = readings[0]; // the smaller offset is the later instant: the second showing
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return { value: `${date}T${pad(hour)}:${pad(minute)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`, ms: asUtc - offset * 60000 };
}
