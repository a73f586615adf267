import { ConnectionRegistry, type DicomConnection } from './connections';

/** A connection the test closes by hand; `abortWhenIdle` closes it after its store under way, if any. */
function connection(storeUnderWay?: Promise<void>): DicomConnection & { close: () => void; aborted: boolean } {
  let close: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    close = resolve;
  });
  const result = {
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
});
