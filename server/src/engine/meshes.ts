export type Mesh = 'istio' | 'linkerd' | 'consul';
export const MESHES: readonly Mesh[] = ['istio', 'linkerd', 'consul'];
/** How people write each mesh's name, for titles and messages. */
export const MESH_DISPLAY_NAMES: Readonly<Record<Mesh, string>> = { istio: 'Istio', linkerd: 'Linkerd', consul: 'Consul' };
