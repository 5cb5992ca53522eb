import type { MeshModule } from '../meshModule';

/** Istio resources are plain Kubernetes objects; recognition by apiVersion + kind is enough. */
export const istioModule: MeshModule = { mesh: 'istio' };
