import type { Bundle } from '@medplum/fhirtypes';
import { makeEvent, STUDY_COMPLETED_V1 } from '@imaging-facade/events';
import type { MessageContext } from '@imaging-facade/kafka';
import type { Logger } from '@imaging-facade/service-kit';
import { Registry } from 'prom-client';
import type { FhirPort } from './fhir-lookups';
import { studyCompletedHandler } from './study-consumer';
import { attr, studySnapshot } from './test-support/study-events';

/** A logger that records every call, with the fields of the child loggers it came from. */
function recordingLogger(lines: unknown[], bound: object = {}): Logger {
  const record = (level: string) => (fields: object, message?: string) =>
    lines.push({ level, ...bound, ...fields, message });
  return {
    child: (fields: object) => recordingLogger(lines, { ...bound, ...fields }),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
  } as unknown as Logger;
}

const emptyFhir: FhirPort = {
  search: async () => [],
  transaction: async (bundle: Bundle) => ({
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: (bundle.entry ?? []).map(() => ({ response: { status: '201 Created' } })),
  }),
};

describe('the study-completed handler', () => {
  it('logs the outcome keyed by the StudyInstanceUID, and nothing about the patient', async () => {
    const lines: unknown[] = [];
    const metrics = new Registry();
    const handle = studyCompletedHandler({
      fhir: emptyFhir,
      settings: { defaultPatientIdSystem: 'urn:oid:1.2.3' },
      metrics,
    });
    const data = studySnapshot({
      patient: {
        PatientName: attr('PN', { Alphabetic: 'Secretname^Jane' }),
        PatientID: attr('LO', 'SECRET-PID-77'),
        PatientBirthDate: attr('DA', '1980021'), // odd: reported by keyword
      },
      series: [{ instances: 1 }],
    });
    const event = makeEvent(STUDY_COMPLETED_V1.type, 'test', data.studyInstanceUid, data);
    const context: MessageContext = {
      topic: 'imaging.study-completed.v1',
      partition: 0,
      offset: '7',
      key: data.studyInstanceUid,
      logger: recordingLogger(lines),
    };

    await handle(event, context);

    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        studyInstanceUid: data.studyInstanceUid,
        skipped: ['PatientBirthDate'],
      }),
      expect.objectContaining({
        level: 'info',
        studyInstanceUid: data.studyInstanceUid,
        outcome: 'created',
        patient: 'created',
      }),
    ]);
    const logged = JSON.stringify(lines);
    for (const secret of ['SECRET-PID-77', 'Secretname', '1980021']) {
      expect(logged).not.toContain(secret);
    }
    expect(await metrics.getSingleMetricAsString('facade_mapper_studies_total')).toContain('outcome="created"} 1');
  });
});
