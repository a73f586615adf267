/** Checks each expected element: equal when given, absent (not even `undefined`) when undefined. */
export function expectElements(actual: object, expected: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(expected)) {
    if (value === undefined) {
      expect(actual).not.toHaveProperty(key);
    } else {
      expect((actual as Record<string, unknown>)[key]).toEqual(value);
    }
  }
}
