/**
 * Snippet text in the LSP/VS Code snippet grammar: numbered tab stops with a default
 * (`${1:name}`) or a choice (`${1|a,b|}`), a stop written again mirrors it (`$1`), `$0` is where
 * the cursor ends.
 */
export class SnippetWriter {
  private readonly stops = new Map<string, { index: number; definition: string }>();

  /**
   * A tab stop named `key`, numbered in the order of the first call for it (the order Tab walks
   * them): it offers `values` to pick from (or `fallback` to type over, when there are none).
   * Its first place in the finished text holds the choice, every other place mirrors it.
   */
  stop(key: string, values: readonly string[], fallback: string): string {
    if (!this.stops.has(key)) {
      const index = this.stops.size + 1;
      const offered = [...new Set(values.filter((v) => v !== ''))].slice(0, MAX_CHOICES);
      const definition = offered.length > 1
        ? `\${${index}|${offered.map(escapeChoice).join(',')}|}`
        : `\${${index}:${escapeText(offered[0] ?? fallback)}}`;
      this.stops.set(key, { index, definition });
    }
    return `\u0000${key}\u0000`;
  }

  /** A place of the stop `key`, declared by `stop` before or after (for text that comes before
   * the stop in the snippet but after it in the order Tab walks). */
  static ref(key: string): string {
    return `\u0000${key}\u0000`;
  }

  /** The snippet: each stop's first place gets its definition, the later ones mirror it. */
  finish(text: string): string {
    const placed = new Set<string>();
    return text.replace(/\u0000([^\u0000]*)\u0000/g, (_, key: string) => {
      const stop = this.stops.get(key);
      if (!stop) throw new Error(`snippet stop "${key}" is placed but never declared`);
      if (placed.has(key)) return `\${${stop.index}}`;
      placed.add(key);
      return stop.definition;
    });
  }

  /** Literal text, escaped for the snippet grammar. */
  static text(value: string): string {
    return escapeText(value);
  }
}

/** More choices than this are a list to scroll, not to pick from; the rest can be typed. */
const MAX_CHOICES = 24;

function escapeText(value: string): string {
  return value.replace(/[\\$}]/g, (c) => `\\${c}`);
}

function escapeChoice(value: string): string {
  return value.replace(/[\\$}|,]/g, (c) => `\\${c}`);
}

/**
 * The text a snippet inserts when every stop keeps its default (the first choice), its escapes
 * undone: what a template gives a user who only presses Tab.
 */
export function snippetDefaults(snippet: string): string {
  const values = new Map<string, string>();
  let out = '';
  let i = 0;
  while (i < snippet.length) {
    const ch = snippet[i]!;
    if (ch === '\\' && i + 1 < snippet.length) {
      out += snippet[i + 1];
      i += 2;
      continue;
    }
    if (ch !== '$') {
      out += ch;
      i++;
      continue;
    }
    const plain = /^\$(\d+)/.exec(snippet.slice(i));
    if (plain) {
      out += values.get(plain[1]!) ?? '';
      i += plain[0].length;
      continue;
    }
    const braced = /^\$\{(\d+)(?:([:|])((?:\\.|[^\\}])*))?\}/.exec(snippet.slice(i));
    if (!braced) throw new Error(`not a snippet tab stop at ${i}: ${snippet.slice(i, i + 20)}`);
    const [, index, form, body = ''] = braced;
    let value = values.get(index!) ?? '';
    if (form === ':') value = unescape(body);
    else if (form === '|') value = unescape(/^((?:\\.|[^\\,|])*)/.exec(body)![1]!);
    if (form) values.set(index!, value);
    out += value;
    i += braced[0].length;
  }
  return out;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}
