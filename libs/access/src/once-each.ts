/**
 * `load` called once per key, the promise shared by every caller (the checks of one answer look each
 * patient and study up once, concurrently); `known` holds what the caller already has.
 */
export function onceEach<V>(load: (key: string) => Promise<V>, known: Map<string, Promise<V>> = new Map()): (key: string) => Promise<V> {
  return (key) => {
    let found = known.get(key);
    if (!found) {
      found = load(key);
      known.set(key, found);
    }
    return found;
  };
}
