/**
 * `compute`, remembered per key, for at most `max` keys: past that all are forgotten at once.
 * For hot paths asking again and again about a few keys (a trigger's URL, its addresses), where
 * an LRU's bookkeeping on every call would cost more than the odd recomputation after a reset.
 * A call that throws is not remembered.
 */
export function memo<K, V>(compute: (key: K) => V, max: number): (key: K) => V {
  const known = new Map<K, V>();
  return (key) => {
    // has() first: undefined can be a remembered answer.
    if (known.has(key)) return known.get(key) as V;
    const value = compute(key);
    if (known.size >= max) known.clear();
    known.set(key, value);
    return value;
  };
}
