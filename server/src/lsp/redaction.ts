import type { Connection } from 'vscode-languageserver';
import type { ProjectConfig } from '../engine/config/projectConfig';
import type { Finding } from '../engine/findings';
import type { AccessRecord } from '../engine/traffic/accessRecord';
import { redactorFor, SecretValues, type Redactor } from '../engine/traffic/redact';

/**
 * What the editor shows about observed traffic passes through traffic/redact.ts, like the CLI's
 * output: hovers, lens and code action titles, traffic diagnostics, the markdown and HTML views,
 * the `meshPolicy/*` responses and every log line. Besides the patterns (JWTs, `Bearer ...`, token
 * query parameters), the secret header values of the loaded calls are masked wherever they turn
 * up, since traces quote the header values a policy tested. Simulation keeps the real values.
 */
export class EditorRedaction {
  private redactor: Redactor = redactorFor(undefined);
  private records: readonly AccessRecord[] = [];
  private secrets = new SecretValues();
  /** Findings redacted so far, by the finding: the insight hands out the same objects while they hold. */
  private redacted = new WeakMap<Finding, Finding>();

  /** `redact.headers` of `.meshpolicy.yaml` adds secret header names. */
  configure(config: Pick<ProjectConfig, 'redact'>): void {
    this.redactor = redactorFor(config);
    this.secrets = this.redactor.secretValues(this.records);
    this.redacted = new WeakMap();
  }

  /** The calls now loaded: their secret values are masked from now on. */
  observe(records: readonly AccessRecord[]): void {
    this.records = records;
    this.secrets = this.redactor.secretValues(records);
    this.redacted = new WeakMap();
  }

  text(text: string): string {
    return this.redactor.text(text, this.secrets);
  }

  /** A response: every string in it scrubbed, values under secret header names masked. */
  deep<T>(value: T): T {
    return this.redactor.deep(value, this.secrets);
  }

  /** What is said about a call written by hand: its own secrets masked too (the CLI's explain does the same). */
  aboutCall<T>(value: T, record: AccessRecord): T {
    return this.redactor.deep(this.deep(value), this.redactor.secretsOf(record));
  }

  /** A finding's message and its related messages (its fixes edit policy text and stay as they are). */
  finding(finding: Finding): Finding {
    let out = this.redacted.get(finding);
    if (!out) {
      out = this.redactor.finding(finding, this.secrets);
      this.redacted.set(finding, out);
    }
    return out;
  }

  /** Every line the server logs (the output channel) is scrubbed too. */
  guardLog(connection: Connection): void {
    const console = connection.console;
    for (const level of ['error', 'warn', 'info', 'log'] as const) {
      const write = console[level].bind(console);
      console[level] = (message: string) => write(this.text(message));
    }
  }
}
