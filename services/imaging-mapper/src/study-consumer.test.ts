import type { Bundle } from '@medplum/fhirtypes';
import { DEFAULT_PATIENT_ID_SYSTEM, makeEvent, STUDY_COMPLETED_V1 } from '@imaging-facade/events';
import type { MessageContext } from '@imaging-facade/kafka';
import type { Logger } from '@imaging-facade/service-kit';
import { Registry } from 'prom-client';
import type { ConsentGate } from './consent/consent-gate';
import type { FhirPort } from './fhir/fhir-lookups';
import { fakeFhirPort } from './test-support/fake-fhir-port';
import { mapStudySnapshot } from './pipeline';
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

const emptyFhir: FhirPort = fakeFhirPort({
  search: async () => [],
  transaction: async (bundle: Bundle) => ({
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: (bundle.entry ?? []).map(() => ({ response: { status: '201 Created' } })),
  }),
});

/** A gate that shares every study, publishing it with the real pipeline against `fhir`. */
const sharingGate = (fhir: FhirPort): Pick<ConsentGate, 'onStudy'> => ({
  onStudy: async (data) => ({ outcome: 'shared', mapping: await mapStudySnapshot(data, fhir, { defaultPatientIdSystem: 'urn:oid:1.2.3' }) }),
});

function context(lines: unknown[], studyInstanceUid: string): MessageContext {
  return { topic: 'imaging.study-completed.v1', partition: 0, offset: '7', key: studyInstanceUid, logger: recordingLogger(lines) };
}

describe('the study-completed handler', () => {
  it('logs the outcome keyed by the StudyInstanceUID, and nothing about the patient', async () => {
    const lines: unknown[] = [];
    const metrics = new Registry();
    const handle = studyCompletedHandler({ gate: sharingGate(emptyFhir), metrics, defaultPatientIdSystem: DEFAULT_PATIENT_ID_SYSTEM });
    const data = studySnapshot({
      patient: {
        PatientName: attr('PN', { Alphabetic: 'Secretname^Jane' }),
        PatientID: attr('LO', 'SECRET-PID-77'),
        PatientBirthDate: attr('DA', '1980021'), // odd: reported by keyword
      },
      series: [{ instances: 1 }],
    });
    const event = makeEvent(STUDY_COMPLETED_V1.type, 'test', data.studyInstanceUid, data);

    await handle(event, context(lines, data.studyInstanceUid));

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

  it.each([
    ['withheld', 0],
    ['withdrawn', 1],
  ] as const)('a study the gate %s is logged as withheld, with its outcome, and not counted as written', async (outcome, deleted) => {
    const lines: unknown[] = [];
    const metrics = new Registry();
    const handle = studyCompletedHandler({
      gate: { onStudy: async () => ({ outcome, withdrawal: { deletedStudies: Array.from({ length: deleted }, (_, index) => String(index)) } }) },
      metrics,
      defaultPatientIdSystem: DEFAULT_PATIENT_ID_SYSTEM,
    });
    const data = studySnapshot({ patient: { PatientID: attr('LO', 'SECRET-PID-78') }, series: [{ instances: 1 }] });

    await handle(makeEvent(STUDY_COMPLETED_V1.type, 'test', data.studyInstanceUid, data), context(lines, data.studyInstanceUid));

    expect(lines).toEqual([
      expect.objectContaining({
        level: 'info',
        studyInstanceUid: data.studyInstanceUid,
        outcome,
        deletedStudies: deleted,
        message: 'study withheld from the index (consent)',
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('SECRET-PID-78');
    expect(await metrics.getSingleMetricAsString('facade_mapper_studies_total')).not.toMatch(/outcome="\w+"} [1-9]/);
  });
});
