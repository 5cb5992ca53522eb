import type { Check } from '../check';
import { duplicateSource } from './MPA3001-duplicate-source';
import { duplicateMethod } from './MPA3002-duplicate-method';
import { legacyMeta } from './MPA3003-legacy-meta';
import { enterpriseFeature } from './MPA3004-enterprise-feature';
import { invalidRegex } from './MPA3005-invalid-regex';
import { rejectedAtSync } from './MPA3006-rejected-at-sync';
import { duplicateDestination } from './MPA3007-duplicate-destination';
import { definedTwice } from './MPA3008-defined-twice';
import { shadowedPermission } from './MPA3009-shadowed-permission';
import { l7NeedsHttp } from './MPA3010-l7-needs-http';
import { unknownJwtProvider } from './MPA3011-unknown-jwt-provider';
import { denyOnlyPermissions } from './MPA3012-deny-only-permissions';
import { precedenceDisagreement } from './MPA3013-precedence-disagreement';
import { allowOnlyPermissions } from './MPA3014-allow-only-permissions';
import { consulNegativeCondition } from './MPA3015-negative-condition';
import { consulInstalledCrd } from './MPA3016-installed-crd';
import { unknownService } from './MPA3017-unknown-service';

/** Consul checks, MPA3xxx. */
export const CONSUL_CHECKS: Check[] = [
  duplicateSource,
  duplicateMethod,
  legacyMeta,
  enterpriseFeature,
  invalidRegex,
  rejectedAtSync,
  duplicateDestination,
  definedTwice,
  shadowedPermission,
  l7NeedsHttp,
  unknownJwtProvider,
  denyOnlyPermissions,
  precedenceDisagreement,
  allowOnlyPermissions,
  consulNegativeCondition,
  consulInstalledCrd,
  unknownService,
];
