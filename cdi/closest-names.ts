/**
 * "Did you mean" help for unresolvable device names: edit distance and natural ordering.
 */

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Compares names so that "2" < "10" (digit runs compare as numbers). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** The `limit` candidates closest to `name`, ties in natural order. */
export function closestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  return [...candidates]
    .map((c) => ({ c, d: editDistance(name, c) }))
    .sort((x, y) => x.d - y.d || naturalCompare(x.c, y.c))
    .slice(0, limit)
    .map((x) => x.c);
}
