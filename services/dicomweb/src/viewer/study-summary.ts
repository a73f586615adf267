import type { ImagingStudy, Observation } from '@medplum/fhirtypes';
import { cumulativeDoseLines, DICOM_UID_SYSTEM, type CumulativeDoseLine } from '@imaging-facade/fhir';
import { examsOf, type DoseExam } from '../dose/exam-records';
import { DOSE_QUANTITIES, QUANTITY_LABEL, QUANTITY_UNIT } from '../dose/quantities';

/**
 * What the viewer shows beside a study: what the index (the FHIR server) says of it — description,
 * date, site — and its dose: the study's dose summary and the patient's cumulative dose. Built from
 * the resources the index answered (the ImagingStudy, the Observations part of it, the patient's
 * cumulative dose Observation). Pure.
 */
export interface StudySummary {
  studyInstanceUid: string;
  /** Absent when the index does not know the study (yet). */
  study?: { description?: string; started?: string; institutions: string[]; department?: string; modalities: string[] };
  /** The study's dose summaries, one per dose report; absent when the token may not read Observations. */
  dose?: Array<{ modality: string; values: DoseValue[] }>;
  /** The patient's cumulative dose; null when the patient has none. */
  cumulative?: { lines: CumulativeDoseLine[]; studies?: number; from?: string; to?: string } | null;
  /** The same, as the lines the viewer's overlay shows. */
  display: { study: string; dose?: string; cumulative?: string };
}

export interface DoseValue {
  label: string;
  value: number;
  unit: string;
}

type AnyResource = { resourceType: string; id?: string | undefined };

const PERFORMER_LOCATION = 'LOC';

/** The index's ImagingStudy of this Study Instance UID among the resources, if any. */
export function imagingStudyOf(resources: readonly AnyResource[], studyUid: string): ImagingStudy | undefined {
  return resources.find(
    (resource): resource is ImagingStudy =>
      resource.resourceType === 'ImagingStudy' && ((resource as ImagingStudy).identifier ?? []).some((id) => id.system === DICOM_UID_SYSTEM && id.value === `urn:oid:${studyUid}`),
  );
}

function institutionsOf(study: ImagingStudy): string[] {
  const names = (study.series ?? []).flatMap((series) =>
    (series.performer ?? []).filter((performer) => performer.function?.coding?.some((coding) => coding.code === PERFORMER_LOCATION)).map((performer) => performer.actor.display?.trim() ?? ''),
  );
  return [...new Set(names.filter(Boolean))];
}

const doseValues = (exam: DoseExam): DoseValue[] =>
  DOSE_QUANTITIES.flatMap((quantity) => {
    const value = exam.quantities[quantity];
    return value === undefined ? [] : [{ label: QUANTITY_LABEL[quantity], value, unit: QUANTITY_UNIT[quantity] }];
  });

const valuesText = (values: ReadonlyArray<{ label: string; value: number; unit: string }>): string => values.map((item) => `${item.label} ${item.value} ${item.unit}`).join(', ');

/** The number of studies the cumulative dose's text says it is over ("…; over 3 studies"). */
function studiesCounted(observation: Observation): number | undefined {
  const match = /over (\d+) stud(?:y|ies)\s*$/.exec(observation.valueString ?? '');
  return match ? Number(match[1]) : (observation.derivedFrom?.length ?? undefined);
}

/**
 * The summary of one study. `withDose`: whether the token may read the dose Observations (else the
 * dose parts are left out, not shown as "none").
 */
export function studySummary(studyUid: string, resources: readonly AnyResource[], cumulative: Observation | undefined, withDose: boolean): StudySummary {
  const study = imagingStudyOf(resources, studyUid);
  const facts = study && {
    ...(study.description?.trim() ? { description: study.description.trim() } : {}),
    ...(study.started ? { started: study.started } : {}),
    institutions: institutionsOf(study),
    ...(study.location?.display?.trim() ? { department: study.location.display.trim() } : {}),
    modalities: (study.modality ?? []).map((coding) => coding.code ?? '').filter(Boolean),
  };
  const site = facts ? [...facts.institutions, ...(facts.department ? [facts.department] : [])].join(', ') : '';
  // Only what the index knows: "no description · no date · no site" over an image told a reader nothing.
  const known = facts ? [facts.description, facts.started?.slice(0, 10), site].filter((part): part is string => !!part) : [];
  const studyText = !facts ? 'Index: this study is not in the index yet' : known.length > 0 ? `Index: ${known.join(' · ')}` : '';
  if (!withDose) {
    return { studyInstanceUid: studyUid, ...(facts ? { study: facts } : {}), display: { study: studyText } };
  }
  const exams = examsOf(resources).filter((exam) => exam.studyUid === undefined || exam.studyUid === studyUid);
  const dose = exams.map((exam) => ({ modality: exam.modality, values: doseValues(exam) })).filter((exam) => exam.values.length > 0);
  const lines = cumulative ? cumulativeDoseLines(cumulative) : [];
  const studies = cumulative ? studiesCounted(cumulative) : undefined;
  const summary: StudySummary = {
    studyInstanceUid: studyUid,
    ...(facts ? { study: facts } : {}),
    dose,
    cumulative:
      lines.length > 0
        ? {
            lines,
            ...(studies !== undefined ? { studies } : {}),
            ...(cumulative?.effectivePeriod?.start ? { from: cumulative.effectivePeriod.start } : {}),
            ...(cumulative?.effectivePeriod?.end ? { to: cumulative.effectivePeriod.end } : {}),
          }
        : null,
    display: { study: studyText },
  };
  if (dose.length > 0) {
    summary.display.dose = `Study dose: ${dose.map((exam) => `${exam.modality} ${valuesText(exam.values)}`).join('; ')}`;
  }
  if (lines.length > 0) {
    summary.display.cumulative = `Patient cumulative dose: ${valuesText(lines)}${studies !== undefined ? ` (${studies} ${studies === 1 ? 'study' : 'studies'})` : ''}`;
  }
  return summary;
}
