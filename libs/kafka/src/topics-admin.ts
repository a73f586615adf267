import { ConfigResourceTypes, type Admin, type ITopicConfig } from 'kafkajs';
import { topicName, type TopicSpec } from '@imaging-facade/events';
import type { Logger } from '@imaging-facade/service-kit';

/** An existing topic that was not made as its specification says. */
export interface TopicMismatch {
  topic: string;
  problem: string;
}

/**
 * Creates the topics a service uses from their specifications (next to each event schema), when
 * they do not exist yet: the broker does not create topics on its own, so a typo in a topic name
 * fails instead of silently creating a new topic. Topics that exist are checked against their
 * specification. A difference is logged, not fixed: a study topic created without compaction keeps
 * every snapshot ever sent, and changing a live topic is an operator's decision.
 */
export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[], prefix: string, logger?: Logger): Promise<TopicMismatch[]> {
  const wanted = specs.map((spec) => ({ name: topicName(spec.topic, prefix), spec }));
  const existing = new Set(await admin.listTopics());
  const missing = wanted.filter(({ name }) => !existing.has(name));
  if (missing.length > 0) {
    await createTopics(admin, missing.map(({ name, spec }) => topicConfig(name, spec)));
  }
  const present = wanted.filter(({ name }) => existing.has(name));
  const mismatches = present.length > 0 ? await checkTopics(admin, present) : [];
  for (const mismatch of mismatches) {
    logger?.warn(mismatch, 'a topic differs from its specification (libs/events): change it with kafka-configs / kafka-topics');
  }
  return mismatches;
}

function topicConfig(name: string, spec: TopicSpec): ITopicConfig {
  return { topic: name, numPartitions: spec.partitions, configEntries: [{ name: 'cleanup.policy', value: spec.cleanupPolicy }] };
}

async function createTopics(admin: Admin, topics: ITopicConfig[]): Promise<void> {
  try {
    await admin.createTopics({ topics, waitForLeaders: true });
  } catch (error) {
    // Another service or instance may have created it between the listing and the creation.
    if (!(error instanceof Error) || !/already exists/i.test(errorDetails(error))) {
      throw error;
    }
  }
}

async function checkTopics(admin: Admin, topics: ReadonlyArray<{ name: string; spec: TopicSpec }>): Promise<TopicMismatch[]> {
  const [metadata, configs] = await Promise.all([
    admin.fetchTopicMetadata({ topics: topics.map(({ name }) => name) }),
    admin.describeConfigs({
      includeSynonyms: false,
      resources: topics.map(({ name }) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['cleanup.policy'] })),
    }),
  ]);
  const mismatches: TopicMismatch[] = [];
  for (const { name, spec } of topics) {
    const policy = configs.resources.find((resource) => resource.resourceName === name)?.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue ?? '';
    if (!policy.split(',').includes(spec.cleanupPolicy)) {
      mismatches.push({ topic: name, problem: `cleanup.policy is "${policy}", its specification says "${spec.cleanupPolicy}"` });
    }
    const partitions = metadata.topics.find((topic) => topic.name === name)?.partitions.length ?? 0;
    if (partitions < spec.partitions) {
      mismatches.push({ topic: name, problem: `${partitions} partitions, its specification says ${spec.partitions}` });
    }
  }
  return mismatches;
}

function errorDetails(error: Error): string {
  const nested = (error as Error & { errors?: Array<{ message?: string; type?: string }> }).errors ?? [];
  return [error.message, ...nested.map((inner) => `${inner.type ?? ''} ${inner.message ?? ''}`)].join(' ');
}
