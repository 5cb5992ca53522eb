import { copyString } from '../../strings';

/**
 * RFC 3339 to epoch milliseconds, fast for the common log case: UTC timestamps whose
 * `YYYY-MM-DDTHH` prefix repeats for an hour of lines. Anything else goes through Date.parse.
 */
export class TimeParser {
  private hourPrefix = '';
  private hourMs = 0;

  parse(time: string | undefined): number {
    if (!time) return NaN;
    // 2025-03-14T09:26:53.412Z / 2025-03-14T13:00:01.118273645Z / 2025-03-14T09:26:53Z
    if (time.length >= 20 && time.charCodeAt(13) === 58 /* : */ && time.charCodeAt(time.length - 1) === 90 /* Z */ && time.charCodeAt(16) === 58) {
      // (compared in place: a slice per line would be garbage per line)
      if (this.hourPrefix.length !== 13 || !time.startsWith(this.hourPrefix)) {
        const prefix = time.slice(0, 13);
        const ms = Date.parse(`${prefix}:00:00Z`);
        if (Number.isNaN(ms)) return Date.parse(time);
        // (a copy: a slice of the line's time would keep its chunk of input alive)
        this.hourPrefix = copyString(prefix);
        this.hourMs = ms;
      }
      const minutes = digits2(time, 14);
      const seconds = digits2(time, 17);
      // (Date.parse refuses a minute or second out of range, where the sum would roll over)
      if (minutes < 0 || seconds < 0 || minutes > 59 || seconds > 59) return Date.parse(time);
      let ms = 0;
      if (time.charCodeAt(19) === 46 /* . */) {
        let scale = 100;
        for (let i = 20; i < time.length - 1 && scale >= 1; i++, scale /= 10) {
          const d = time.charCodeAt(i) - 48;
          if (d < 0 || d > 9) return Date.parse(time);
          ms += d * scale;
        }
      } else if (time.length !== 20) {
        return Date.parse(time);
      }
      return this.hourMs + minutes * 60_000 + seconds * 1000 + ms;
    }
    return Date.parse(time);
  }
}

function digits2(s: string, at: number): number {
  const a = s.charCodeAt(at) - 48;
  const b = s.charCodeAt(at + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}
