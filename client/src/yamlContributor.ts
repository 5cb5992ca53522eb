// The contributor this extension registers with the Red Hat YAML extension (its
// `registerContributor` API, vscode-yaml src/schema-extension-api.ts): which schema a file gets,
// and that schema's content, which the server gives (server/src/engine/schema/yamlExtension.ts).
// No vscode import: the protocol test drives it against the real yaml-language-server.

export type YamlExtensionSetting = 'quiet' | 'schemas' | 'off';

export const YAML_CONTRIBUTOR = 'meshpolicy';

/** Every apiVersion a file's documents name. The server recognizes the kinds; this only says which
 * files to claim (the YAML extension asks synchronously, for every YAML file). */
const API_VERSION = /^[\s-]*["']?apiVersion["']?\s*:\s*["']?([^\s"'#]+)/gm;
const POLICY_TEST_DOCUMENT = /^["']?kind["']?\s*:\s*["']?MeshPolicyTest["']?\s*(#.*)?$/m;
const API_VERSION_ANYWHERE = /^[\s-]*["']?apiVersion["']?\s*:/m;
const MESH_GROUP = /^(security\.istio\.io|policy\.linkerd\.io|consul\.hashicorp\.com)\//;

/** A file of mesh policies only: a file that also holds a Deployment (a Helm or kustomize output)
 * keeps the YAML extension's own schema, for the Deployment's sake. */
function onlyMeshPolicies(text: string): boolean {
  const versions = [...text.matchAll(API_VERSION)].map((m) => m[1]!);
  return versions.length > 0 && versions.every((v) => MESH_GROUP.test(v));
}

export interface YamlSchemaContributor {
  requestSchema(resource: string): string | undefined;
  requestSchemaContent(uri: string): Promise<string>;
}

/**
 * `setting()` is read at each request, so a change applies to the next file the YAML extension
 * validates; `textOf` gives an open document's text by URI; `content` asks the server.
 */
export function yamlSchemaContributor(setting: () => YamlExtensionSetting, textOf: (resource: string) => string | undefined, content: (uri: string) => Promise<string | null>): YamlSchemaContributor {
  return {
    requestSchema(resource) {
      const mode = setting();
      if (mode === 'off') return undefined;
      const text = textOf(resource);
      if (text === undefined) return undefined;
      // policy tests (docs/policy-tests.md), as policy files: quiet, or their own schema
      if (POLICY_TEST_DOCUMENT.test(text) && !API_VERSION_ANYWHERE.test(text)) return `${YAML_CONTRIBUTOR}://schemas/${mode === 'quiet' ? 'quiet.json' : 'policy-test.schema.json'}`;
      if (!onlyMeshPolicies(text)) return undefined;
      return `${YAML_CONTRIBUTOR}://schemas/${mode === 'quiet' ? 'quiet' : 'policies'}.json`;
    },
    async requestSchemaContent(uri) {
      const text = await content(uri);
      if (text === null) throw new Error(`Mesh Policy Auditor has no schema ${uri}`);
      return text;
    },
  };
}
