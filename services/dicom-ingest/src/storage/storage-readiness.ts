import type { ReadinessCheck } from '@imaging-facade/service-kit';
import type { InstanceFiles } from './instance-files';

/** Ready when the storage directory takes a durable write now (not full, not read-only, mounted). */
export function storageReadiness(files: InstanceFiles): ReadinessCheck {
  return { name: 'storage', probe: () => files.probeWritable() };
}
