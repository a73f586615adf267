/**
 * A copy of `value` whose keys come in `order` first, then the others sorted; undefined values are
 * dropped. Equal content then serialises to the same bytes.
 */
export function orderKeys<T extends object>(value: T, order: readonly string[]): T {
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  const rank = (key: string) => {
    const index = order.indexOf(key);
    return index === -1 ? order.length : index;
  };
  entries.sort(([a], [b]) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(entries) as T;
}

/** JSON with every object's keys sorted: a comparison key for content equality. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    item && typeof item === 'object' && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : item,
  );
}
