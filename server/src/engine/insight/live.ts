import type { WorkspaceView } from '../checks/check';
import type { RuleSetting } from '../config/projectConfig';
import { BaselineTracker, type BaselineFiles } from '../baseline';
import { DestinationGroups, resimulate, Simulation, simulateShapes, type MovedLines, type ShapeOutcome, type SimulationResult } from '../simulate';
import type { Resource } from '../resource';
import type { TrafficShape } from '../traffic/ingest/types';
import { TrafficInsight } from './trafficInsight';

const NO_RULES: Record<string, RuleSetting> = Object.freeze({});

/** The policies at a git ref to compare with: how they decide a call (each call once: `BaselineTracker` keeps the decisions), and what was read. */
export interface LiveBaseline {
  decider: Pick<Simulation, 'decide'>;
  files: Pick<BaselineFiles, 'ref' | 'commit' | 'added' | 'deleted'>;
}

/**
 * The simulation of one traffic load, kept up to date while the policies are edited (the
 * editor's loop). Each `next` is a difference from the last run: `Simulation.update` + `resimulate`
 * re-decide only the calls the changed files can reach; the baseline comparison
 * (`BaselineTracker`) and the insight's indexes (`TrafficInsight` built from the previous one)
 * take in only the outcomes decided again. A change of configuration or of the rule settings,
 * or an edit that reaches every call (inventory, meshes present), starts over.
 * The answers equal those of a fresh `TrafficInsight` over a fresh simulation.
 */
export class LiveInsight {
  private last: { simulation: Simulation; result: SimulationResult; config: unknown; rules: Record<string, RuleSetting>; insight: TrafficInsight } | undefined;
  private readonly tracker: BaselineTracker | undefined;
  /** Built with the first simulation of the load, off the edit path. */
  private destinations: DestinationGroups | undefined;

  constructor(
    private readonly workspace: WorkspaceView,
    private readonly shapes: readonly TrafficShape[],
    baseline?: LiveBaseline,
  ) {
    this.tracker = baseline ? new BaselineTracker(baseline.decider, baseline.files) : undefined;
  }

  /** The last insight built, if any. */
  get current(): TrafficInsight | undefined {
    return this.last?.insight;
  }

  /** How many of the loaded calls a change to a resource would decide again, about (`DestinationGroups.reachEstimator`). */
  reachEstimator(): (resource: Resource) => number {
    this.destinations ??= new DestinationGroups(this.shapes);
    return this.destinations.reachEstimator(this.workspace);
  }

  /**
   * The insight for the workspace as it is now. `changedFiles`: every file read again, added or
   * removed since the last call. `rules`: severities from the settings, over the configuration's.
   */
  next(changedFiles: readonly string[], rules: Record<string, RuleSetting> = NO_RULES): TrafficInsight {
    const last = this.last;
    const config = this.workspace.config;
    let simulation: Simulation;
    let result: SimulationResult;
    let redecided: { indexes: number[]; replaced: ShapeOutcome[]; moved: readonly MovedLines[] } | undefined;
    if (last && last.config === config) {
      simulation = last.simulation;
      const update = simulation.update(this.workspace, changedFiles);
      this.destinations ??= new DestinationGroups(this.shapes);
      // In place: the last result and insight are not asked anything afterwards.
      const resimulation = resimulate(last.result, simulation, update.affects, this.destinations, true);
      result = resimulation;
      if (!update.all) redecided = { indexes: resimulation.redecided, replaced: resimulation.replaced, moved: update.moved };
    } else {
      simulation = new Simulation(this.workspace);
      result = simulateShapes(simulation, this.shapes);
      this.destinations ??= new DestinationGroups(this.shapes);
    }
    const comparison = this.tracker ? (last && redecided ? this.tracker.update(result.outcomes, redecided.indexes) : this.tracker.compareAll(result.outcomes)) : undefined;
    const change = last && redecided && last.rules === rules ? { previous: last.insight, redecided: redecided.indexes, replaced: redecided.replaced, moved: redecided.moved, changedFiles } : undefined;
    const insight = new TrafficInsight(this.workspace, simulation, result, { ...config.rules, ...rules }, comparison, change);
    this.last = { simulation, result, config, rules, insight };
    return insight;
  }
}
