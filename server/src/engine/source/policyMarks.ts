/**
 * Whether a text says it means to hold mesh policies: a mesh `apiVersion` group, or a Consul
 * config entry `Kind`, anywhere in it, and no Go template (`{{`: Helm's files are policies only
 * once rendered). Syntax errors and limits are reported only in such files.
 */
export class PolicyMarks {
  private named = false;
  private templated = false;
  /** The end of the text seen so far, which a mark split between two chunks begins in. */
  private tail = '';

  /** Reads the next chunk of a text given in pieces (a file too large to hold as one string). */
  add(chunk: string): void {
    const text = this.tail + chunk;
    if (!this.named && (MESH_API_VERSION.test(text) || CONSUL_KIND.test(text))) this.named = true;
    if (!this.templated && text.includes('{{')) this.templated = true;
    this.tail = text.slice(-MARK_SPAN);
  }

  get namesPolicies(): boolean {
    return this.named && !this.templated;
  }
}

export function textNamesPolicies(text: string): boolean {
  const marks = new PolicyMarks();
  marks.add(text);
  return marks.namesPolicies;
}

/** Gateway API groups are left out: most routes are not Linkerd's. */
const MESH_API_VERSION = /\bapiVersion["']?\s*:\s*["']?(?:security\.istio\.io|policy\.linkerd\.io|consul\.hashicorp\.com)\//;
/** Consul reads config entry keys in any letter case. */
const CONSUL_KIND = /\bkind["']?\s*[:=]\s*["']?service-intentions(?![\w-])/i;
/** Longer than any text the marks match, spaces between key and value included in practice. */
const MARK_SPAN = 256;
