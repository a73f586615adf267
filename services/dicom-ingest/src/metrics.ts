import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestMetrics {
  instancesStored: Counter;
  storeFailures: Counter<'status'>;
  storeDuration: Histogram<'outcome'>;
  studiesCompleted: Counter;
  studyPublishFailures: Counter;
  associations: Counter<'result'>;
  activeAssociations: Gauge;
  protocolViolations: Counter;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    instancesStored: new Counter({
      name: 'facade_ingest_instances_stored_total',
      help: 'Instances stored and announced (answered with success)',
      registers,
    }),
    storeFailures: new Counter({
      name: 'facade_ingest_store_failures_total',
      help: 'C-STORE requests answered with a failure, by DIMSE status',
      labelNames: ['status'] as const,
      registers,
    }),
    storeDuration: new Histogram({
      name: 'facade_ingest_store_duration_seconds',
      help: 'From the first byte of a dataset to the C-STORE response (receive, fsync, parse, index, publish)',
      labelNames: ['outcome'] as const,
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    studiesCompleted: new Counter({
      name: 'facade_ingest_studies_completed_total',
      help: 'Study-completed snapshots published',
      registers,
    }),
    studyPublishFailures: new Counter({
      name: 'facade_ingest_study_publish_failures_total',
      help: 'Attempts to publish a study-completed snapshot that failed (retried with backoff)',
      registers,
    }),
    associations: new Counter({
      name: 'facade_ingest_associations_total',
      help: 'Association requests, by result (accepted, rejected)',
      labelNames: ['result'] as const,
      registers,
    }),
    activeAssociations: new Gauge({
      name: 'facade_ingest_associations_active',
      help: 'Connections currently open on the DICOM port',
      registers,
    }),
    protocolViolations: new Counter({
      name: 'facade_ingest_pdu_violations_total',
      help: 'Connections aborted for a PDU of a wrong type or length (checked before it is buffered)',
      registers,
    }),
  };
}
