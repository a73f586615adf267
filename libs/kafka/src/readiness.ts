import type { Admin } from 'kafkajs';
import type { ReadinessCheck } from '@imaging-facade/service-kit';

/** Ready when the broker answers a metadata request. */
export function kafkaReadiness(admin: Admin): ReadinessCheck {
  return {
    name: 'kafka',
    probe: async () => {
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length === 0) {
        throw new Error('no broker available');
      }
    },
  };
}
