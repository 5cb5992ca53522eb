import type { Mesh } from '../meshes';

/**
 * One observed call in our canonical form (docs/access-records.md,
 * schemas/access-record.schema.json). The field names are fixed: users and other tools write
 * files in this format.
 */
export interface AccessRecord {
  /** RFC 3339. */
  time?: string;
  mesh?: Mesh;
  protocol?: 'http' | 'http2' | 'grpc' | 'tcp';
  source?: {
    /** The mesh's own identity form; null or absent means plaintext (no peer identity). */
    principal?: string | null;
    namespace?: string;
    serviceAccount?: string;
    workload?: string;
    service?: string;
    ip?: string;
    remoteIp?: string;
    labels?: Record<string, string>;
    /**
     * The caller's identity is not known: the log does not record it and nothing resolved it
     * (readers of native logs set this; `principal` is then absent). Policies that test the
     * caller's identity decide `unknown` instead of treating the call as plaintext.
     */
    principalUnknown?: boolean;
    /**
     * The principal is not from the log: ingest inferred it from the inventory (the service
     * account of the workload that made the call, its proxy presumed). The proxy may not have
     * presented it: Istio's auto mTLS sends plaintext to a workload whose mTLS mode is DISABLE.
     */
    principalInferred?: boolean;
    /**
     * The call does not come over the destination pod's own loopback (it comes from another pod
     * or host), though `ip` is absent. Linkerd's proxy admits every plaintext connection from
     * loopback (its localhost authorization); with this set, that authorization does not apply.
     * The access map's callers set it.
     */
    notLoopback?: boolean;
  };
  destination?: {
    namespace?: string;
    workload?: string;
    service?: string;
    serviceAccount?: string;
    labels?: Record<string, string>;
    ip?: string;
    port?: number;
  };
  request?: {
    method?: string;
    /** As sent, query string included. */
    path?: string;
    host?: string;
    headers?: Record<string, string>;
    /**
     * The names (lower case) of the headers the log records, when it records only some: readers
     * of native logs set it. A header named here but not in `headers` was not sent; a header not
     * named here may have been: a policy that tests it decides `unknown`. Absent: `headers` lists
     * every header sent (a written record).
     */
    recordedHeaders?: readonly string[];
    /**
     * The log does not record the token (readers of native logs set it, unless the line says the
     * token was rejected): whether one was sent, and what it holds, is not known. Policies that
     * read the token decide `unknown`. Absent: no `jwt` means no token was sent.
     */
    jwtUnknown?: boolean;
    /** Absent when no token was sent (and `jwtUnknown` is not set). */
    jwt?: {
      valid?: boolean;
      issuer?: string;
      subject?: string;
      audiences?: string[];
      presenter?: string;
      claims?: Record<string, unknown>;
    };
  };
  sni?: string;
  response?: {
    status?: number;
    flags?: string;
    details?: string;
    /**
     * The policy that denied the call, as the proxy's log names it (Istio): `<namespace>/<name>`,
     * or `none` when ALLOW policies applied and none matched.
     */
    deniedBy?: string;
    /**
     * What Istio's dry-run policies (`istio.io/dry-run: "true"`) would have decided, as the proxy
     * logged it (Envoy RBAC shadow rules): `allow` from the engine of the dry-run ALLOW policies,
     * `deny` from that of the dry-run DENY policies. Each is there only when its result was logged.
     */
    dryRun?: {
      allow?: DryRunEngineResult;
      deny?: DryRunEngineResult;
    };
  };
  observed?: 'allowed' | 'denied' | 'unknown';
  /** How many identical calls this record stands for (default 1). */
  count?: number;
}

/** One dry-run engine's result (`response.dryRun.allow` or `.deny`). */
export interface DryRunEngineResult {
  result: 'allowed' | 'denied';
  /** `<namespace>/<name>` of the dry-run policy whose rule matched; absent when none did (or the log did not say). */
  policy?: string;
}
