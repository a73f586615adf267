import { createLogger } from '@imaging-facade/service-kit';
import { eventually } from '../../../../test/support/wait';
import { IndexCatchUp } from './index-catch-up';

const logger = createLogger('index-catch-up-test', 'silent');

/** A broker whose topic ends at `high` per partition and whose group has committed `committed`. */
function broker(high: Record<number, number>, committed: Record<number, number>) {
  return {
    committed,
    fetchTopicOffsets: async () => Object.entries(high).map(([partition, end]) => ({ partition: Number(partition), offset: String(end), high: String(end), low: '0' })),
    fetchOffsets: async () => [{ topic: 't', partitions: Object.entries(committed).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset), metadata: null })) }],
  };
}

describe('IndexCatchUp', () => {
  it('an index that was already there is ready at once', async () => {
    const catchUp = await IndexCatchUp.start(broker({ 0: 10 }, {}), { groupId: 'g', topic: 't', rebuilt: false, logger });
    expect(catchUp.isReady()).toBe(true);
  });

  it('a rebuilt index is ready once its group has committed every partition as far as the topic reached at start', async () => {
    const admin = broker({ 0: 10, 1: 4, 2: 0 }, { 0: -1, 1: -1 });
    const catchUp = await IndexCatchUp.start(admin, { groupId: 'g', topic: 't', rebuilt: true, logger, intervalMs: 10 });
    try {
      expect(catchUp.isReady()).toBe(false);
      admin.committed[0] = 10;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(catchUp.isReady()).toBe(false); // partition 1 still behind; partition 2 has nothing to read
      admin.committed[1] = 4;
      await eventually(async () => (catchUp.isReady() ? true : undefined), { timeoutMs: 2000, what: 'the catch-up' });
    } finally {
      catchUp.stop();
    }
  });

  it('a rebuilt index of an empty topic is ready at once', async () => {
    const catchUp = await IndexCatchUp.start(broker({ 0: 0 }, {}), { groupId: 'g', topic: 't', rebuilt: true, logger });
    expect(catchUp.isReady()).toBe(true);
  });
});
