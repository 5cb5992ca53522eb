import type { SourceFile } from '../source/sourceFile';
import { entryCI, entryExtent as extent, entryReader, placeOf } from './configEntries';
import { getEntry, getScalarString, type ObjectNode, type SourceNode, type Span } from '../source/tree';

/**
 * The `jwt-provider` config entries (HCL, JSON or YAML, keys in any letter case) and the
 * `JWTProvider` custom resources (consul-k8s `consul.hashicorp.com/v1alpha1`, lowerCamelCase keys
 * under `spec`) of a file: what the Consul checks and the simulator need of them.
 *
 * They are not recognized resources (nothing validates or outlines them), so they are read from
 * the workspace's files; a file is read once per text (cached by its `SourceFile`).
 */
export interface JwtProviderDefinition {
  /** Absent when the entry has no name (the checks count it; nothing can refer to it). */
  name: string | undefined;
  /** `Issuer` / `spec.issuer`; absent when not set. */
  issuer: string | undefined;
  /** `Audiences` / `spec.audiences`: a verified token must name one of them. Empty: not checked. */
  audiences: string[];
  kind: 'jwt-provider' | 'JWTProvider';
  file: SourceFile;
  /** The entry or resource, from its first key to the end of its last value. */
  span: Span;
}

export const jwtProvidersIn: (file: SourceFile) => readonly JwtProviderDefinition[] = entryReader(read);

/** What the file's jwt-provider definitions say, places included ('' when it has none). */
export function jwtProviderDigest(file: SourceFile): string {
  const found = jwtProvidersIn(file);
  return found.length ? JSON.stringify(found.map((d) => [describeJwtProvider(d), d.issuer ?? null, d.audiences])) : '';
}

/** `jwt-provider "okta" (config/okta.hcl:1-9)`: the definition and its place, for messages. */
export function describeJwtProvider(d: JwtProviderDefinition): string {
  return `${d.kind}${d.name !== undefined ? ` ${JSON.stringify(d.name)}` : ''} (${placeOf(d.file, d.span)})`;
}

function read(file: SourceFile, node: ObjectNode, out: JwtProviderDefinition[]): void {
  const apiVersion = getScalarString(node, 'apiVersion');
  if (apiVersion !== undefined) {
    if (!apiVersion.startsWith('consul.hashicorp.com/') || getScalarString(node, 'kind') !== 'JWTProvider') return;
    const spec = getEntry(node, 'spec')?.value;
    out.push({
      name: getScalarString(getEntry(node, 'metadata')?.value, 'name'),
      issuer: nonEmpty(getEntry(spec, 'issuer')?.value),
      audiences: strings(getEntry(spec, 'audiences')?.value),
      kind: 'JWTProvider', file, span: extent(file, node),
    });
    return;
  }
  // A config entry: Consul matches its keys in any letter case.
  if (nonEmpty(entryCI(node, 'Kind')?.value) !== 'jwt-provider') return;
  out.push({
    name: nonEmpty(entryCI(node, 'Name')?.value),
    issuer: nonEmpty(entryCI(node, 'Issuer')?.value),
    audiences: strings(entryCI(node, 'Audiences')?.value),
    kind: 'jwt-provider', file, span: extent(file, node),
  });
}

function nonEmpty(node: SourceNode | undefined): string | undefined {
  return node?.type === 'scalar' && typeof node.value === 'string' && node.value !== '' ? node.value : undefined;
}

function strings(node: SourceNode | undefined): string[] {
  if (node?.type !== 'array') return [];
  return node.items.flatMap((item) => (item.type === 'scalar' && typeof item.value === 'string' ? [item.value] : []));
}
