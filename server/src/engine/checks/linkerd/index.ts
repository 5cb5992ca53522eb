import type { Check } from '../check';
import { authorizationPolicyRejected } from './MPA2001-authorization-policy-rejected';
import { meshTLSAuthenticationRejected } from './MPA2002-meshtls-authentication-rejected';
import { networkRejected } from './MPA2003-network-rejected';
import { serverAuthorizationRejected } from './MPA2004-server-authorization-rejected';
import { routeRejected } from './MPA2005-route-rejected';
import { authenticationNotFound } from './MPA2006-authentication-not-found';
import { routeParentIgnored } from './MPA2007-route-parent-ignored';
import { invalidDefaultInboundPolicy } from './MPA2008-invalid-default-inbound-policy';
import { overlappingServers } from './MPA2009-overlapping-servers';
import { targetNotFound } from './MPA2010-target-not-found';
import { serverSelectsNothing } from './MPA2011-server-selects-nothing';
import { identityMatchesNothing } from './MPA2012-identity-matches-nothing';
import { probesOrScrapesDenied } from './MPA2013-probes-or-scrapes-denied';
import { linkerdNegativeCondition } from './MPA2014-negative-condition';
import { linkerdInstalledCrd } from './MPA2015-installed-crd';

/** Linkerd checks, MPA2xxx. */
export const LINKERD_CHECKS: Check[] = [
  authorizationPolicyRejected,
  meshTLSAuthenticationRejected,
  networkRejected,
  serverAuthorizationRejected,
  routeRejected,
  authenticationNotFound,
  routeParentIgnored,
  invalidDefaultInboundPolicy,
  overlappingServers,
  targetNotFound,
  serverSelectsNothing,
  identityMatchesNothing,
  probesOrScrapesDenied,
  linkerdNegativeCondition,
  linkerdInstalledCrd,
];
