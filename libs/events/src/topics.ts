/**
 * How a topic is made, next to the event schema that describes its messages: every service that
 * writes or reads it creates it from this, or checks an existing one against it
 * (`ensureTopics` in @imaging-facade/kafka), so that two services cannot create it differently.
 */
export interface TopicSpec {
  /** The versioned base name; a deployment's prefix is put in front of it (`topicName`). */
  readonly topic: string;
  /** Messages of one key (a study, a patient) stay in order within one partition. */
  readonly partitions: number;
  /**
   * `compact`: the last message per key is the current state (study snapshots, consent decisions),
   * so the topic is read whole at start; `delete`: a log, kept for the broker's retention.
   */
  readonly cleanupPolicy: 'compact' | 'delete';
}

/**
 * The topic a service really uses: the versioned name, behind an optional prefix so that several
 * deployments (or test runs) can share one cluster without seeing each other's events.
 */
export function topicName(base: string, prefix = ''): string {
  return `${prefix}${base}`;
}

/** An event's descriptor (its topic, type, headers…), checked to carry a whole topic specification. */
export function topicSpec<const T extends TopicSpec>(descriptor: T): T {
  return descriptor;
}
