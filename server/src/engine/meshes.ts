export type Mesh = 'istio' | 'linkerd' | 'consul';
export const MESHES: readonly Mesh[] = ['istio', 'linkerd', 'consul'];
