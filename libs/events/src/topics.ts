/**
 * The topic a service really uses: the versioned name, behind an optional prefix so that several
 * deployments (or test runs) can share one cluster without seeing each other's events.
 */
export function topicName(base: string, prefix = ''): string {
  return `${prefix}${base}`;
}
