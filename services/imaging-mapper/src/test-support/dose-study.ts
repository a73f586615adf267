import type { DicomJson } from '@imaging-facade/dicom';
import type { StudyCompletedV1Data } from '@imaging-facade/events';
import type { Observation, ObservationComponent } from '@medplum/fhirtypes';
import type { DoseContext } from '../derived/dose-mapping';
import { attr, newUid, studySnapshot } from './study-events';

export const X_RAY_RDSR = '1.2.840.10008.5.1.4.1.1.88.67';

/** A study with one CT series and one SR series holding a dose report per `contents` item. */
export function studyWithReports(contents: DicomJson[], options: { patientId?: string; sopInstanceUids?: string[] } = {}): StudyCompletedV1Data {
  const snapshot = studySnapshot({
    series: [{ instances: 1 }],
    patient: { AccessionNumber: attr('SH', 'ACC-Q'), ...(options.patientId ? { PatientID: attr('LO', options.patientId) } : {}) } as never,
  });
  snapshot.series.push({
    seriesInstanceUid: newUid(),
    attributes: { '00080060': { vr: 'CS', Value: ['SR'] } },
    instances: contents.map((content, index) => ({
      sopInstanceUid: options.sopInstanceUids?.[index] ?? newUid(),
      sopClassUid: X_RAY_RDSR,
      transferSyntaxUid: '1.2.840.10008.1.2.1',
      attributes: {},
      content,
    })),
  });
  return snapshot;
}

export function doseContext(data: StudyCompletedV1Data, patient = 'Patient/p1'): DoseContext {
  return {
    data,
    subject: { reference: patient },
    study: { reference: `ImagingStudy/${data.studyInstanceUid}`, type: 'ImagingStudy', identifier: { system: 'urn:dicom:uid', value: `urn:oid:${data.studyInstanceUid}` } },
    started: '2024-01-05T10:15:00+01:00',
  };
}

/** Each component as `value unit` (or its coded value), keyed by code and, for a lateral value, its text. */
export function componentValues(observation: Observation): Record<string, unknown> {
  return Object.fromEntries(
    (observation.component ?? []).map((component: ObservationComponent) => [
      component.code.text ?? component.code.coding?.[0]?.code ?? '?',
      component.valueQuantity
        ? `${component.valueQuantity.value} ${component.valueQuantity.code}`
        : (component.valueCodeableConcept?.coding?.[0]?.code ?? component.valueString),
    ]),
  );
}
