import type { Resource } from './resource';
import { admittedValue } from './source/tree';

/** A resource placed again after an edit → the resource recognized in its cached parse (the
 * same text, so the same value). */
const placedFrom = new WeakMap<Resource, Resource>();
const values = new WeakMap<Resource, Record<string, unknown>>();

/** Recognition says that `placed` holds the same text as `parsed`. */
export function notePlaced(placed: Resource, parsed: Resource): void {
  placedFrom.set(placed, parsed);
}

/** A resource with the same text as `resource` (its parse's, when it was placed again): the key
 * for what is derived from the text alone, no positions (offsets change with every edit above). */
export function sameText(resource: Resource): Resource {
  return placedFrom.get(resource) ?? resource;
}

/** The resource's admitted value (`admittedValue` of its node; `{}` when that is not an object),
 * computed once per text: the resources after an edited one share their parse's value instead
 * of walking (and so shifting) their whole tree again. The value is shared: nothing may change it. */
export function resourceValue(resource: Resource): Record<string, unknown> {
  const source = sameText(resource);
  let value = values.get(source);
  if (!value) {
    const admitted = admittedValue(source.node);
    value = admitted !== null && typeof admitted === 'object' && !Array.isArray(admitted) ? (admitted as Record<string, unknown>) : {};
    values.set(source, value);
  }
  return value;
}
