import { ConnectionRegistry, type DicomConnection } from './connections';

/** A connection the test closes by hand; `abortWhenIdle` closes it after its store under way, if any. */
function connection(storeUnderWay?: Promise<void>, remoteAddress = '10.0.0.5'): DicomConnection & { close: () => void; aborted: boolean } {
  let close: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    close = resolve;
  });
  const result = {
    remoteAddress,
    closed,
    close: () => close(),
    aborted: false,
    abortWhenIdle: async () => {
      await storeUnderWay;
      result.aborted = true;
      close();
    },
  };
  return result;
}

describe('ConnectionRegistry', () => {
  it('when every association ends within the grace period, aborts none', async () => {
    const registry = new ConnectionRegistry();
    const sender = connection();
    registry.add(sender);

    const drained = registry.drain(1000);
    expect(registry.isDraining).toBe(true);
    sender.close();
    await drained;

    expect(sender.aborted).toBe(false);
    expect(registry.size).toBe(0);
  });

  it('after the grace period, aborts what is left, each only after its C-STORE under way is answered', async () => {
    const registry = new ConnectionRegistry();
    let finishStore: () => void = () => undefined;
    const storeUnderWay = new Promise<void>((resolve) => {
      finishStore = resolve;
    });
    const busy = connection(storeUnderWay);
    const idle = connection();
    registry.add(busy);
    registry.add(idle);

    const drained = registry.drain(20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(idle.aborted).toBe(true);
    expect(busy.aborted).toBe(false);
    finishStore();
    await drained;

    expect(busy.aborted).toBe(true);
    expect(registry.size).toBe(0);
  });

  it('with nothing open, drains at once', async () => {
    await expect(new ConnectionRegistry().drain(60_000)).resolves.toBeUndefined();
  });

  it('counts associations up to the limit, and frees a place when one closes', async () => {
    const registry = new ConnectionRegistry();
    const [first, second, third] = [connection(), connection(), connection()];
    [first, second, third].forEach((each) => registry.add(each));

    const limits = { total: 2, perHost: undefined };
    expect(registry.tryAssociate(first, limits)).toBe(true);
    expect(registry.tryAssociate(second, limits)).toBe(true);
    expect(registry.tryAssociate(third, limits)).toBe(false);
    first.close();
    await first.closed;
    await Promise.resolve();

    expect(registry.associationCount).toBe(1);
    expect(registry.tryAssociate(third, limits)).toBe(true);
  });

  it('counts associations per host when a per-host limit is set', async () => {
    const registry = new ConnectionRegistry();
    const [modality, again, pacs] = [connection(undefined, '10.0.0.5'), connection(undefined, '10.0.0.5'), connection(undefined, '10.0.0.9')];
    [modality, again, pacs].forEach((each) => registry.add(each));
    const limits = { total: 10, perHost: 1 };

    expect(registry.tryAssociate(modality, limits)).toBe(true);
    expect(registry.tryAssociate(again, limits)).toBe(false);
    expect(registry.tryAssociate(pacs, limits)).toBe(true);
    modality.close();
    await modality.closed;
    await Promise.resolve();

    expect(registry.tryAssociate(again, limits)).toBe(true);
  });
});
