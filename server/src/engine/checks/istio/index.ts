import type { Check } from '../check';
import { ambientL7WithoutWaypointCheck } from './MPA1030-ambient-l7-without-waypoint';
import { unknownHostCheck } from './MPA1031-unknown-host';
import { serviceEntryNotFoundCheck } from './MPA1032-service-entry-not-found';
import { clientIdentityBehindWaypointCheck } from './MPA1033-client-identity-behind-waypoint';
import { customProviderNotDeclaredCheck } from './MPA1034-custom-provider-not-declared';
import { jwtWithoutRequestAuthenticationCheck } from './MPA1035-jwt-without-request-authentication';
import { destinationRuleTlsConflictCheck } from './MPA1036-destination-rule-tls-conflict';
import { annotationsCheck } from './MPA1001-annotations';
import { targetRefKindCheck } from './MPA1002-target-ref-kind';
import { noRulesCheck } from './MPA1003-no-rules';
import { customActionCheck } from './MPA1004-custom-action';
import { emptyMatchCheck } from './MPA1005-empty-match';
import { emptyValueCheck } from './MPA1006-empty-value';
import { badIpCheck } from './MPA1007-bad-ip';
import { badPortCheck } from './MPA1008-bad-port';
import { pathTemplateCheck } from './MPA1009-path-template';
import { whenConditionCheck } from './MPA1010-when-condition';
import { serviceAccountCheck } from './MPA1011-service-account';
import { trustDomainCheck } from './MPA1012-trust-domain';
import { jwtRuleCheck } from './MPA1013-jwt-rule';
import { emptySelectorCheck } from './MPA1014-empty-selector';
import { denyHttpOnlyCheck } from './MPA1015-deny-http-only';
import { noMatchingWorkloadsCheck } from './MPA1016-no-matching-workloads';
import { namespaceNotFoundCheck } from './MPA1017-namespace-not-found';
import { httpMethodCheck } from './MPA1018-http-method';
import { principalServiceAccountCheck } from './MPA1019-principal-service-account';
import { unknownTrustDomainCheck } from './MPA1037-unknown-trust-domain';
import { principalFormatCheck } from './MPA1020-principal-format';
import { identityWithoutMtlsCheck } from './MPA1021-identity-without-mtls';
import { peerAuthenticationConflictCheck } from './MPA1022-peer-authentication-conflict';
import { splitRuleCheck } from './MPA1023-split-rule';
import { mixedHttpTcpCheck } from './MPA1024-mixed-http-tcp';
import { redundantRuleCheck } from './MPA1025-redundant-rule';
import { allowOverriddenByDenyCheck } from './MPA1040-allow-overridden-by-deny';
import { gatewaySelectorCheck } from './MPA1026-gateway-selector';
import { emptyAllowRulesCheck } from './MPA1027-empty-allow-rules';
import { literalWildcardCheck } from './MPA1028-literal-wildcard';
import { servicePortCheck } from './MPA1029-service-port';
import { istioNegativeCondition } from './MPA1038-negative-condition';
import { istioInstalledCrd } from './MPA1039-installed-crd';

/** Istio checks, MPA1xxx. MPA1001–MPA1013: what istiod's validating webhook rejects;
 * MPA1014–MPA1015: its warnings; MPA1016–MPA1017: istioctl analyze; the rest: Kiali-style
 * consistency checks and known pitfalls. */
export const ISTIO_CHECKS: Check[] = [
  annotationsCheck,
  targetRefKindCheck,
  noRulesCheck,
  customActionCheck,
  emptyMatchCheck,
  emptyValueCheck,
  badIpCheck,
  badPortCheck,
  pathTemplateCheck,
  whenConditionCheck,
  serviceAccountCheck,
  trustDomainCheck,
  jwtRuleCheck,
  emptySelectorCheck,
  denyHttpOnlyCheck,
  noMatchingWorkloadsCheck,
  namespaceNotFoundCheck,
  httpMethodCheck,
  principalServiceAccountCheck,
  principalFormatCheck,
  identityWithoutMtlsCheck,
  peerAuthenticationConflictCheck,
  splitRuleCheck,
  mixedHttpTcpCheck,
  redundantRuleCheck,
  gatewaySelectorCheck,
  emptyAllowRulesCheck,
  literalWildcardCheck,
  servicePortCheck,
  ambientL7WithoutWaypointCheck,
  unknownHostCheck,
  serviceEntryNotFoundCheck,
  clientIdentityBehindWaypointCheck,
  customProviderNotDeclaredCheck,
  jwtWithoutRequestAuthenticationCheck,
  destinationRuleTlsConflictCheck,
  unknownTrustDomainCheck,
  istioNegativeCondition,
  istioInstalledCrd,
  allowOverriddenByDenyCheck,
];
