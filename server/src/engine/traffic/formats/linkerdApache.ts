import type { LinePeek, LineReader, LineResult, ParsedLine } from '../readerTypes';
import { SKIP, isBlank, newKeyPrefix, parseStatus, present } from './common';
import { PendingHttpEvents, readLinkerdProxyLine } from './linkerdProxyEvents';
import { buildLinkerdRecord, LINKERD_APACHE_HEADERS, LINKERD_KEY_PARTS, peekLinkerdRecord, type LinkerdFields } from './linkerdCommon';

/**
 * Linkerd's `apache` access log (`config.linkerd.io/access-log: apache`):
 *
 *     <client.addr> <client.id> - [<timestamp>] "<method> <uri> <version>" <status>
 *
 * `client.id` is `-` for clients without a mesh identity; the status is missing when the
 * response never completed. Linkerd's proxy log lines (`[  4021.118340s]  INFO ...`, or JSON),
 * which `kubectl logs` mixes in, are read by linkerdProxyEvents.ts: its TCP policy events are
 * calls, the other lines are skipped with their reasons.
 */
export class LinkerdApacheReader implements LineReader {
  readonly format = 'linkerd-apache' as const;

  private readonly keyPrefix = newKeyPrefix();
  private readonly keyParts = new Array<string>(LINKERD_KEY_PARTS).fill('');
  /** The fields of the last peeked line. */
  private peeked: LinkerdFields | undefined;

  /** The proxy's HTTP policy events waiting for their requests' lines. */
  private readonly pending = new PendingHttpEvents();

  read(line: string): LineResult {
    const fields = this.fields(line);
    if (fields === undefined) return isBlank(line) ? SKIP.blank : readLinkerdProxyLine(line, this.pending) ?? SKIP.notLinkerd;
    const parsed = buildLinkerdRecord(fields);
    this.pending.mark(parsed);
    return parsed;
  }

  readAgain(line: string): LineResult {
    // (no event waited for the line's client when it was peeked: see peek)
    const fields = this.fields(line);
    return fields === undefined ? this.read(line) : buildLinkerdRecord(fields);
  }

  peek(line: string): LinePeek | undefined {
    const fields = this.fields(line);
    if (fields === undefined) return undefined;
    if (this.pending.waitsFor(fields.clientAddr)) return undefined;
    this.peeked = fields;
    const peeked = peekLinkerdRecord(fields, this.keyPrefix, this.keyParts);
    // (a line the fast path declines is read, which counts it)
    if (peeked !== undefined) this.pending.pass();
    return peeked;
  }

  readPeeked(): ParsedLine {
    return buildLinkerdRecord(this.peeked!);
  }

  /** The line's fields, or undefined when it is not an apache-style Linkerd line. */
  private fields(line: string): LinkerdFields | undefined {
    let n = line.length;
    if (n > 0 && line.charCodeAt(n - 1) === 13) n--;
    const sp1 = line.indexOf(' ');
    if (sp1 <= 0 || sp1 >= n) return undefined;
    const addr = line.slice(0, sp1);
    // ip:port or [v6]:port
    const colon = addr.lastIndexOf(':');
    if (colon <= 0 || colon === addr.length - 1) return undefined;
    const c0 = addr.charCodeAt(0);
    if (!(c0 === 91 || (c0 >= 48 && c0 <= 57) || (c0 >= 97 && c0 <= 102) || (c0 >= 65 && c0 <= 70))) return undefined;
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp2 < 0) return undefined;
    const id = line.slice(sp1 + 1, sp2);
    if (!line.startsWith(' - [', sp2)) return undefined;
    const tsStart = sp2 + 4;
    const tsEnd = line.indexOf('] "', tsStart);
    if (tsEnd < 0) return undefined;
    const reqStart = tsEnd + 3;
    const sp3 = line.indexOf(' ', reqStart);
    if (sp3 < 0) return undefined;
    const sp4 = line.indexOf(' ', sp3 + 1);
    if (sp4 < 0) return undefined;
    const quote = line.indexOf('"', sp4 + 1);
    if (quote < 0 || quote > n) return undefined;
    const version = line.slice(sp4 + 1, quote);
    if (version.includes(' ')) return undefined;
    let status: number | undefined;
    let k = quote + 1;
    while (k < n && line.charCodeAt(k) === 32) k++;
    if (k < n) {
      status = parseStatus(line.slice(k, n).trimEnd());
      // (an HTTP status has three digits: `" 40` is a line cut short)
      if (status === undefined || status < 100 || status > 999) return undefined;
    }
    return {
      clientAddr: addr,
      clientId: present(id),
      timestamp: line.slice(tsStart, tsEnd),
      method: present(line.slice(reqStart, sp3)),
      uri: present(line.slice(sp3 + 1, sp4)),
      version: present(version),
      status,
      host: undefined,
      userAgent: undefined,
      traceId: undefined,
      recordedHeaders: LINKERD_APACHE_HEADERS,
    };
  }
}

export function createLinkerdApacheReader(): LinkerdApacheReader {
  return new LinkerdApacheReader();
}
