import { installedCrdCheck } from '../installedCrds';

/** The Linkerd kinds (and the Gateway API routes Linkerd reads) against the CRDs of the workspace (`installedCrds.ts`). */
export const linkerdInstalledCrd = installedCrdCheck({
  code: 'MPA2015',
  mesh: 'linkerd',
  kinds: ['Server', 'ServerAuthorization', 'AuthorizationPolicy', 'MeshTLSAuthentication', 'NetworkAuthentication', 'HTTPRoute', 'GRPCRoute'],
});
