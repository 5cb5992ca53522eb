import { arr, isRec, str, type Rec } from './common';

/** Kubernetes label selectors (matchLabels and matchExpressions), as Linkerd's Server
 * podSelector and ServerAuthorization server.selector use them. An empty selector selects
 * everything. */
export function selectorMatches(selector: Rec, labels: Record<string, string>): boolean {
  const matchLabels = isRec(selector['matchLabels']) ? selector['matchLabels'] : {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== String(value)) return false;
  for (const raw of arr(selector['matchExpressions'])) {
    if (!isRec(raw)) continue;
    const key = str(raw['key']) ?? '';
    const values = arr(raw['values']).map(String);
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    switch (raw['operator']) {
      case 'In': if (!has || !values.includes(labels[key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

export function selectsAll(selector: Rec): boolean {
  const labels = isRec(selector['matchLabels']) ? Object.keys(selector['matchLabels']).length : 0;
  return labels === 0 && arr(selector['matchExpressions']).length === 0;
}

/** A canonical text of a selector, so that two selectors written differently but meaning the
 * same compare equal (label order, expression order, value order). */
export function selectorKey(selector: Rec): string {
  const labels = isRec(selector['matchLabels']) ? Object.entries(selector['matchLabels']).map(([k, v]) => `${k}=${String(v)}`).sort() : [];
  const expressions = arr(selector['matchExpressions']).filter(isRec).map((e) => `${String(e['key'])} ${String(e['operator'])} ${arr(e['values']).map(String).sort().join(',')}`).sort();
  return JSON.stringify([labels, expressions]);
}
