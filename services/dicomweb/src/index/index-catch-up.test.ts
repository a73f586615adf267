import { createLogger } from '@imaging-facade/service-kit';
import { eventually } from '../../../../test/support/wait';
import { IndexCatchUp } from './index-catch-up';

const logger = createLogger('index-catch-up-test', 'silent');

/** A broker whose topic ends at `high` per partition and whose group has committed `committed`. */
function broker(high: Record<number, number>, committed: Record<number, number>) {
  const admin = {
    committed,
    failTopicOffsets: 0,
    fetchTopicOffsets: async () => {
      if (admin.failTopicOffsets-- > 0) throw new Error('broker not available');
      return Object.entries(high).map(([partition, end]) => ({ partition: Number(partition), offset: String(end), high: String(end), low: '0' }));
    },
    fetchOffsets: async () => [{ topic: 't', partitions: Object.entries(committed).map(([partition, offset]) => ({ partition: Number(partition), offset: String(offset), metadata: null })) }],
  };
  return admin;
}

const options = (rebuilding: boolean, onCaughtUp: () => void = () => undefined) => ({ groupId: 'g', topic: 't', rebuilding, onCaughtUp, logger, intervalMs: 10 });

describe('IndexCatchUp', () => {
  it('an index that has caught up once is ready at once', () => {
    const catchUp = new IndexCatchUp(broker({ 0: 10 }, {}), options(false));
    expect(catchUp.isReady()).toBe(true);
  });

  it('a rebuilding index is ready once its group has committed every partition as far as the topic reached, and says so once', async () => {
    const admin = broker({ 0: 10, 1: 4, 2: 0 }, { 0: -1, 1: -1 });
    let caughtUp = 0;
    const catchUp = new IndexCatchUp(admin, options(true, () => { caughtUp++; }));
    try {
      expect(catchUp.isReady()).toBe(false);
      admin.committed[0] = 10;
      await eventually(async () => (catchUp.describe().endsWith(': 10 of 14 messages') ? true : undefined), { timeoutMs: 2000, what: 'the progress' });
      expect(catchUp.isReady()).toBe(false); // partition 1 still behind; partition 2 has nothing to read
      admin.committed[1] = 4;
      await eventually(async () => (catchUp.isReady() ? true : undefined), { timeoutMs: 2000, what: 'the catch-up' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(caughtUp).toBe(1);
    } finally {
      catchUp.stop();
    }
  });

  it('a broker that does not answer at first is asked again, not a failed start', async () => {
    const admin = broker({ 0: 3 }, { 0: 3 });
    admin.failTopicOffsets = 2;
    const catchUp = new IndexCatchUp(admin, options(true));
    try {
      await eventually(async () => (catchUp.isReady() ? true : undefined), { timeoutMs: 2000, what: 'the catch-up' });
      expect(catchUp.error).toBeUndefined();
    } finally {
      catchUp.stop();
    }
  });

  it('a rebuilding index of an empty topic is ready after its first look', async () => {
    const catchUp = new IndexCatchUp(broker({ 0: 0 }, {}), options(true));
    await eventually(async () => (catchUp.isReady() ? true : undefined), { timeoutMs: 2000, what: 'the catch-up' });
  });
});
