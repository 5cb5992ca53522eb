import type { Severity } from '../findings';

/** Findings that come from simulating the policies against observed traffic (MPA4xxx). */
export const TrafficCodes = {
  newlyDenied: 'MPA4001',
  newlyAllowed: 'MPA4002',
  noObservedTraffic: 'MPA4003',
  uncoveredWorkload: 'MPA4004',
  undecided: 'MPA4005',
  baselineChange: 'MPA4006',
  deniedOtherwise: 'MPA4007',
  dryRunLoggedOtherwise: 'MPA4008',
} as const;

export interface TrafficRuleInfo {
  code: string;
  title: string;
  defaultSeverity: Severity;
}

export const TRAFFIC_RULES: readonly TrafficRuleInfo[] = [
  { code: TrafficCodes.newlyDenied, title: 'Would deny observed calls that succeeded', defaultSeverity: 'warning' },
  { code: TrafficCodes.newlyAllowed, title: 'Would allow observed calls that were denied', defaultSeverity: 'warning' },
  { code: TrafficCodes.noObservedTraffic, title: 'Decides no observed call', defaultSeverity: 'info' },
  { code: TrafficCodes.uncoveredWorkload, title: 'Workload receives traffic but no policy covers it', defaultSeverity: 'info' },
  { code: TrafficCodes.undecided, title: 'Observed calls the policies cannot decide', defaultSeverity: 'info' },
  { code: TrafficCodes.baselineChange, title: 'Changes decisions compared with the git baseline', defaultSeverity: 'warning' },
  { code: TrafficCodes.deniedOtherwise, title: 'Denies observed calls that the logs show another policy denied', defaultSeverity: 'info' },
  { code: TrafficCodes.dryRunLoggedOtherwise, title: 'The logs report other dry-run results than the simulation', defaultSeverity: 'info' },
];
