import type { Admin, ITopicConfig } from 'kafkajs';

/**
 * Creates the topics a service needs when they do not exist yet (the broker does not create topics
 * on its own: a typo in a topic name must fail, not silently create a new topic).
 */
export async function ensureTopics(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((topic) => !existing.has(topic.topic));
  if (missing.length === 0) {
    return;
  }
  try {
    await admin.createTopics({ topics: missing, waitForLeaders: true });
  } catch (error) {
    // Another instance may have created it between the listing and the creation.
    if (!(error instanceof Error) || !/already exists/i.test(errorDetails(error))) {
      throw error;
    }
  }
}

function errorDetails(error: Error): string {
  const nested = (error as Error & { errors?: Array<{ message?: string; type?: string }> }).errors ?? [];
  return [error.message, ...nested.map((inner) => `${inner.type ?? ''} ${inner.message ?? ''}`)].join(' ');
}
