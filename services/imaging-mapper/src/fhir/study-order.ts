import type { ImagingStudy, ImagingStudySeries, ImagingStudySeriesInstance } from '@medplum/fhirtypes';
import { orderKeys } from './canonical';

/** The deterministic order of a published ImagingStudy: keys, series and instances. */

/** R4 element order, so that the JSON reads like the specification; unknown keys follow, sorted. */
// prettier-ignore
const STUDY_ORDER = [
  'resourceType', 'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension',
  'identifier', 'status', 'modality', 'subject', 'encounter', 'started', 'basedOn', 'referrer', 'interpreter',
  'endpoint', 'numberOfSeries', 'numberOfInstances', 'procedureReference', 'procedureCode', 'location',
  'reasonCode', 'reasonReference', 'note', 'description', 'series',
];
// prettier-ignore
const SERIES_ORDER = [
  'id', 'extension', 'modifierExtension', 'uid', 'number', 'modality', 'description', 'numberOfInstances',
  'endpoint', 'bodySite', 'laterality', 'specimen', 'started', 'performer', 'instance',
];
const INSTANCE_ORDER = ['id', 'extension', 'modifierExtension', 'uid', 'sopClass', 'number', 'title'];

/** The study with every level's keys in R4 order. */
export function canonicalImagingStudy(study: ImagingStudy): ImagingStudy {
  const series = study.series?.map((item) => {
    const instance = item.instance?.map((entry) => orderKeys(entry, INSTANCE_ORDER) as ImagingStudySeriesInstance);
    return orderKeys({ ...item, instance }, SERIES_ORDER) as ImagingStudySeries;
  });
  return orderKeys({ ...study, series }, STUDY_ORDER) as ImagingStudy;
}

/** Series and instances: by number, unnumbered last, then by UID. */
export function byNumberThenUid(a: { uid: string; number?: number }, b: { uid: string; number?: number }): number {
  const byNumber = (a.number ?? Number.POSITIVE_INFINITY) - (b.number ?? Number.POSITIVE_INFINITY);
  return (Number.isNaN(byNumber) ? 0 : byNumber) || compareUids(a.uid, b.uid);
}

/** UIDs compared component by component as numbers, so 1.2.9 comes before 1.2.10. */
export function compareUids(a: string, b: string): number {
  const left = a.split('.');
  const right = b.split('.');
  for (let index = 0; index < Math.max(left.length, right.length); index++) {
    const difference = compareComponent(left[index], right[index]);
    if (difference !== 0) {
      return difference;
    }
  }
  return 0;
}

function compareComponent(a: string | undefined, b: string | undefined): number {
  if (a === undefined || b === undefined) {
    return a === b ? 0 : a === undefined ? -1 : 1;
  }
  return a.length - b.length || compareText(a, b);
}

export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
