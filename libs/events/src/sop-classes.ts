/**
 * SOP classes (PS3.4 B.5) the services treat specially, and the structured-report attributes that
 * travel in the study event for them.
 */

export const KEY_OBJECT_SELECTION_SOP_CLASS = '1.2.840.10008.5.1.4.1.1.88.59';

/** Radiation dose structured reports (IHE REM): their content tree travels in the snapshot. */
export const DOSE_SR_SOP_CLASSES: Readonly<Record<string, string>> = {
  '1.2.840.10008.5.1.4.1.1.88.67': 'X-Ray Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.68': 'Radiopharmaceutical Radiation Dose SR',
  '1.2.840.10008.5.1.4.1.1.88.76': 'Enhanced X-Ray Radiation Dose SR',
};

export function isDoseReport(sopClassUid: string | undefined): boolean {
  return sopClassUid !== undefined && Object.hasOwn(DOSE_SR_SOP_CLASSES, sopClassUid);
}

/**
 * The SR document content (PS3.3 C.17.3) of a dose report, in the instance's `content`: the
 * document title, the template it follows and the content tree.
 */
export const SR_CONTENT_TAGS: readonly string[] = [
  '0040A043', // ConceptNameCodeSequence (document title)
  '0040A504', // ContentTemplateSequence
  '0040A730', // ContentSequence
];

/**
 * The node's Retrieve Location UID (XDS-I.b repositoryUniqueId) when none is configured: a 2.25
 * UID (PS3.5 B.2) of the UUID a9c7e4d2-5b0f-4f3e-9a61-2d8c0b7e1f35. The ingest writes it into its
 * manifests and the mapper identifies the node's Endpoint by it, so both default to the same value.
 */
export const DEFAULT_NODE_UID = '2.25.225677439417984617797999639172048887605';
