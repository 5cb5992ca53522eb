/**
 * Access auditing (LSP-free): the audit model built from ingest results and a simulation, its
 * renderers (HTML report, Markdown, traffic map) and least-privilege policy generation.
 *
 *   const traffic = await ingestTraffic(paths, { inventory, config, timeBucketMs: AUDIT_TIME_BUCKET_MS });
 *   const result = simulateShapes(new Simulation(workspace), traffic.shapes);
 *   const model = buildAuditModel({ stats: traffic.stats, result, workspace });
 *   renderReportHtml(model) / renderReportMarkdown(model) / renderTrafficMapHtml(model) / JSON.stringify(model)
 *   generatePolicies('istio', traffic.shapes, { inventory })  // → { yaml, summary }
 */
export { AUDIT_MODEL_VERSION, AUDIT_TIME_BUCKET_MS, buildAuditModel, callerName, destinationName, mapNodes } from './model';
export type { AuditInput, AuditModel, AuditOptions, AuditRef, AuthenticationRow, CallRow, Capped, EdgeState, MapEdge, MapNode, Ranked, Risk, TrendPoint, UncoveredWorkload, UnusedRule } from './model';
export { renderReportHtml } from './render/html';
export { renderReportMarkdown, MARKDOWN_LIMIT } from './render/markdown';
export { nodeCallsText, renderTrafficMapHtml } from './render/map';
export type { HtmlOptions } from './render/common';
export { checkGenerated, generateChecked, generatePolicies, GENERATORS, PLAINTEXT_CALLERS, selfCheckLines, withSelfCheck } from './generate';
export type { GenerateOptions, GeneratedPolicies, GenerationSummary, PlaintextCallers, SelfCheck } from './generate';
