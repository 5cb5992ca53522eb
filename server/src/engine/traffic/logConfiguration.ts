import type { Mesh } from '../meshes';

/**
 * The mesh configuration that makes access logs complete enough to simulate (caller identity on
 * every server-side line, nothing filtered away; Istio's also logs what its dry-run policies would
 * have decided). docs/access-records.md shows the same snippets;
 * test/unit/traffic/logConfiguration.test.ts keeps the two identical.
 */
export interface LogConfigurationSnippet {
  mesh: Mesh;
  title: string;
  /** Language of the snippet, for the editor. */
  language: 'yaml' | 'hcl';
  text: string;
}

export const LOG_CONFIGURATION: readonly LogConfigurationSnippet[] = [
  { mesh: 'istio', title: 'Istio: a JSON access log provider with the peer fields and the dry-run results, and a Telemetry resource that turns it on', language: 'yaml', text: `# meshConfig
extensionProviders:
- name: mesh-policy-json
  envoyFileAccessLog:
    path: /dev/stdout
    logFormat:
      labels:
        start_time: "%START_TIME%"
        method: "%REQ(:METHOD)%"
        path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
        protocol: "%PROTOCOL%"
        response_code: "%RESPONSE_CODE%"
        response_flags: "%RESPONSE_FLAGS%"
        response_code_details: "%RESPONSE_CODE_DETAILS%"
        connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%"
        request_id: "%REQ(X-REQUEST-ID)%"
        authority: "%REQ(:AUTHORITY)%"
        user_agent: "%REQ(USER-AGENT)%"
        x_forwarded_for: "%REQ(X-FORWARDED-FOR)%"
        upstream_host: "%UPSTREAM_HOST%"
        upstream_cluster: "%UPSTREAM_CLUSTER_RAW%"
        downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%"
        downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%"
        requested_server_name: "%REQUESTED_SERVER_NAME%"
        source_principal: "%DOWNSTREAM_PEER_URI_SAN%"
        destination_principal: "%DOWNSTREAM_LOCAL_URI_SAN%"
        # Istio peer metadata; the FIELD accessor needs a recent Istio: check your version.
        source_workload: "%FILTER_STATE(downstream_peer_obj:FIELD:workload)%"
        source_namespace: "%FILTER_STATE(downstream_peer_obj:FIELD:namespace)%"
        # What dry-run policies (istio.io/dry-run) would have decided, as the proxy saw it:
        # the RBAC filters' shadow results, HTTP listeners first, then TCP ones.
        istio_dry_run_allow_shadow_engine_result: "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_engine_result)%"
        istio_dry_run_allow_shadow_effective_policy_id: "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_allow_shadow_effective_policy_id)%"
        istio_dry_run_deny_shadow_engine_result: "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_deny_shadow_engine_result)%"
        istio_dry_run_deny_shadow_effective_policy_id: "%DYNAMIC_METADATA(envoy.filters.http.rbac:istio_dry_run_deny_shadow_effective_policy_id)%"
        tcp_istio_dry_run_allow_shadow_engine_result: "%DYNAMIC_METADATA(envoy.filters.network.rbac:istio_dry_run_allow_shadow_engine_result)%"
        tcp_istio_dry_run_allow_shadow_effective_policy_id: "%DYNAMIC_METADATA(envoy.filters.network.rbac:istio_dry_run_allow_shadow_effective_policy_id)%"
        tcp_istio_dry_run_deny_shadow_engine_result: "%DYNAMIC_METADATA(envoy.filters.network.rbac:istio_dry_run_deny_shadow_engine_result)%"
        tcp_istio_dry_run_deny_shadow_effective_policy_id: "%DYNAMIC_METADATA(envoy.filters.network.rbac:istio_dry_run_deny_shadow_effective_policy_id)%"
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata:
  name: mesh-policy-access-logs
  namespace: istio-system        # the root namespace: applies to the whole mesh
spec:
  accessLogging:
  - providers:
    - name: mesh-policy-json
    match:
      mode: CLIENT_AND_SERVER    # SERVER alone is enough for decisions; CLIENT lines add join data
` },
  { mesh: 'linkerd', title: 'Linkerd: the access log annotation (namespace or pod template)', language: 'yaml', text: `apiVersion: v1
kind: Namespace
metadata:
  name: booksapp
  annotations:
    linkerd.io/inject: enabled
    config.linkerd.io/access-log: json   # or apache; on a namespace or a pod template
` },
  { mesh: 'consul', title: 'Consul: access logs with the caller identity in proxy-defaults (consul config write)', language: 'hcl', text: `Kind = "proxy-defaults"
Name = "global"
AccessLogs {
  Enabled = true
  JSONFormat = <<EOF
{
  "start_time": "%START_TIME%",
  "method": "%REQ(:METHOD)%",
  "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  "protocol": "%PROTOCOL%",
  "response_code": "%RESPONSE_CODE%",
  "response_flags": "%RESPONSE_FLAGS%",
  "response_code_details": "%RESPONSE_CODE_DETAILS%",
  "connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%",
  "request_id": "%REQ(X-REQUEST-ID)%",
  "authority": "%REQ(:AUTHORITY)%",
  "user_agent": "%REQ(USER-AGENT)%",
  "upstream_host": "%UPSTREAM_HOST%",
  "upstream_cluster": "%UPSTREAM_CLUSTER%",
  "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%",
  "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
  "requested_server_name": "%REQUESTED_SERVER_NAME%",
  "source_principal": "%DOWNSTREAM_PEER_URI_SAN%"
}
EOF
}
` },
  { mesh: 'consul', title: 'Consul on Kubernetes: the same as a ProxyDefaults resource', language: 'yaml', text: `apiVersion: consul.hashicorp.com/v1alpha1
kind: ProxyDefaults
metadata:
  name: global
spec:
  accessLogs:
    enabled: true
    jsonFormat: |
      {"start_time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
       "protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%", "response_flags": "%RESPONSE_FLAGS%",
       "response_code_details": "%RESPONSE_CODE_DETAILS%", "connection_termination_details": "%CONNECTION_TERMINATION_DETAILS%",
       "request_id": "%REQ(X-REQUEST-ID)%", "authority": "%REQ(:AUTHORITY)%", "user_agent": "%REQ(USER-AGENT)%",
       "upstream_host": "%UPSTREAM_HOST%", "upstream_cluster": "%UPSTREAM_CLUSTER%",
       "downstream_local_address": "%DOWNSTREAM_LOCAL_ADDRESS%", "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
       "requested_server_name": "%REQUESTED_SERVER_NAME%", "source_principal": "%DOWNSTREAM_PEER_URI_SAN%"}
` },
];
