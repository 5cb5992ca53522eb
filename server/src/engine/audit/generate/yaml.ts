/** A small writer for the generated YAML: block style, two-space indents, comments where asked. */

const PLAIN = /^[A-Za-z0-9_/][A-Za-z0-9_./:@-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~|[-+]?(\d[\d_]*(\.\d*)?|\.\d+)([eE][-+]?\d+)?|0x[0-9a-fA-F]+|0o[0-7]+)$/i;

/** A scalar, plain when YAML reads it back as the same string, double-quoted (JSON) otherwise. */
export function str(value: string | number): string {
  if (typeof value === 'number') return String(value);
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

export class YamlWriter {
  private readonly lines: string[] = [];

  /** `# text` lines at an indent (text may have several lines). */
  comment(indent: number, text: string): this {
    for (const line of text.split('\n')) this.lines.push(`${' '.repeat(indent)}# ${line}`.trimEnd());
    return this;
  }

  /** A raw line; `note` becomes an end-of-line comment. */
  line(indent: number, text: string, note?: string): this {
    this.lines.push(`${' '.repeat(indent)}${text}${note ? `  # ${note}` : ''}`);
    return this;
  }

  /** `key: value` (value as a scalar), or `key:` when value is undefined. */
  key(indent: number, key: string, value?: string | number, note?: string): this {
    return this.line(indent, value === undefined ? `${key}:` : `${key}: ${str(value)}`, note);
  }

  /** A block list of scalars under `key`. */
  list(indent: number, key: string, values: { value: string | number; note?: string }[]): this {
    this.key(indent, key);
    for (const v of values) this.line(indent + 2, `- ${str(v.value)}`, v.note);
    return this;
  }

  document(): this {
    this.lines.push('---');
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/** RE2 (and ECMAScript) syntax for a literal string. */
export function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A DNS-1123 name from parts: lower case, dashes, at most 63 characters. */
export function dnsName(...parts: (string | number)[]): string {
  const name = parts.join('-').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  return (name.length > 63 ? name.slice(0, 63).replace(/-$/, '') : name) || 'generated';
}

/** `wanted` as a Kubernetes name, short enough to number (`-2`, `-3`…). */
export function kubernetesName(wanted: string): string {
  return dnsName(wanted).slice(0, 50).replace(/-+$/, '');
}

/** `base`, numbered from 2 until it is not in `taken`. */
export function numberedName(base: string, taken: ReadonlySet<string | undefined>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** `wanted` as a Kubernetes name, numbered from 2 until it is not in `taken`. */
export function availableName(wanted: string, taken: ReadonlySet<string | undefined>): string {
  return numberedName(kubernetesName(wanted), taken);
}
