/**
 * How the index says that a study has a validated report: the instance of the report, in
 * ImagingStudy.series.instance, carries this extension (the mapper sets it from libs/dicom
 * `isValidatedReport`). On the instance rather than the study, so that it travels with it: a study
 * merged from several nodes lists every node's reports, and a report rejected (IHE IOCM) leaves
 * the study with its instance.
 */
export const VALIDATED_REPORT_URL = 'https://imagingfacade.org/fhir/StructureDefinition/validated-report';

interface StudyLike {
  series?: ReadonlyArray<{ instance?: ReadonlyArray<{ extension?: ReadonlyArray<{ url?: string; valueBoolean?: boolean }> }> }>;
}

/** Whether an ImagingStudy, as the index holds it, lists a validated report. */
export function listsValidatedReport(study: StudyLike): boolean {
  return (study.series ?? []).some((series) =>
    (series.instance ?? []).some((instance) => (instance.extension ?? []).some((extension) => extension.url === VALIDATED_REPORT_URL && extension.valueBoolean === true)),
  );
}
