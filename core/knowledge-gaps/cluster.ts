/** One item to cluster: its vector (L2-normalised, as every `Embedder` returns them). */
export interface Clusterable {
  vector: number[];
}

export interface Cluster<T extends Clusterable> {
  items: T[];
  /** The normalised mean of the members' vectors. */
  centroid: number[];
  /** The member closest to the centroid: the question that says best what the cluster asks. */
  representative: T;
}

/**
 * Greedy centroid clustering: each item, in the order given, joins the cluster whose centroid it
 * is most similar to (cosine) when that is at least `threshold`, else starts a new one; the centroid
 * moves with each member. One pass, no randomness: the same items in the same order give the same
 * clusters on every machine (callers order by time, then id). Quadratic only in the number of
 * clusters, which is what a gap report can show anyway.
 */
export function clusterByCentroid<T extends Clusterable>(
  items: readonly T[],
  threshold: number,
): Cluster<T>[] {
  const groups: Array<{ items: T[]; sum: number[]; centroid: number[] }> = [];
  for (const item of items) {
    let best: (typeof groups)[number] | undefined;
    let bestScore = -Infinity;
    for (const group of groups) {
      const score = dot(item.vector, group.centroid);
      if (score > bestScore) {
        best = group;
        bestScore = score;
      }
    }
    if (best && bestScore >= threshold) {
      best.items.push(item);
      addInto(best.sum, item.vector);
      best.centroid = normalised(best.sum);
    } else {
      groups.push({ items: [item], sum: [...item.vector], centroid: normalised(item.vector) });
    }
  }
  return groups.map(({ items: members, centroid }) => {
    let representative = members[0] as T;
    let closest = -Infinity;
    for (const member of members) {
      const score = dot(member.vector, centroid);
      // Strictly greater: on a tie the earlier question stays, so the choice is stable.
      if (score > closest) {
        representative = member;
        closest = score;
      }
    }
    return { items: members, centroid, representative };
  });
}

export function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

function addInto(sum: number[], vector: readonly number[]): void {
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (vector[i] ?? 0);
}

function normalised(vector: readonly number[]): number[] {
  const norm = Math.hypot(...vector);
  return norm === 0 ? [...vector] : vector.map((value) => value / norm);
}
