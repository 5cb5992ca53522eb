/** References that would make the page load something: any src/href/url()/@import not pointing into the page itself. */
export function externalReferences(html: string): string[] {
  const found: string[] = [];
  for (const m of html.matchAll(/\b(?:src|href|xlink:href|action|poster|srcset)\s*=\s*["']?([^"'\s>]*)/gi)) if (!m[1]!.startsWith('#')) found.push(m[0]);
  for (const m of html.matchAll(/url\(\s*["']?([^"')]*)/gi)) if (!m[1]!.startsWith('#')) found.push(m[0]);
  for (const m of html.matchAll(/@import|<link\b|<iframe\b|<object\b|<embed\b|<base\b|\bfetch\(|XMLHttpRequest|WebSocket|EventSource|sendBeacon/gi)) found.push(m[0]);
  return found;
}
