/**
 * For stores that keep files open (spool pools, study indexes): called where a test file declares
 * its hooks, it registers an `afterEach` that closes every resource kept with the function it
 * returns, so that none is left to the garbage collector (which warns about each handle).
 */
export function closedAfterEach<T>(close: (resource: T) => Promise<void>): (resource: T) => T {
  const open: T[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map(close));
  });
  return (resource) => {
    open.push(resource);
    return resource;
  };
}
