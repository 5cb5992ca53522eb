/**
 * The first and last time of calls folded together (RFC 3339 strings, as records carry them).
 * Times are compared as instants: the logs write fractions of a second to different precisions
 * and zones as `Z` or an offset, so their text does not sort in time order.
 */
export interface TimeSpan {
  firstTime?: string;
  lastTime?: string;
}

/** Widens `span` to take in `other`. */
export function widenTimeSpan(span: TimeSpan, other: TimeSpan): void {
  if (other.firstTime && (!span.firstTime || instant(other.firstTime) < instant(span.firstTime))) span.firstTime = other.firstTime;
  if (other.lastTime && (!span.lastTime || instant(other.lastTime) > instant(span.lastTime))) span.lastTime = other.lastTime;
}

function instant(time: string): number {
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? 0 : ms;
}
