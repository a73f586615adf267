import type { HumanName, Patient } from '@medplum/fhirtypes';
import { patientKey, type PatientIdentifier } from '@imaging-facade/events';
import type { StudyCatalog, StudySummary } from '@imaging-facade/consent';
import type { ConsentStore } from './consent-store';

/** A patient as the desk shows them: from the node's studies, else from the FHIR server. */
export interface PatientSummary {
  key: string;
  identifier: PatientIdentifier;
  /** Display form: "FAMILY Given". */
  name?: string;
  /** YYYY-MM-DD. */
  birthDate?: string;
  sex?: string;
  studies: StudySummary[];
}

export type PatientQuery = { identifier: PatientIdentifier | { value: string } } | { name: string; birthDate: string };

const MAX_RESULTS = 20;

/** Finds patients in the study catalogue and in the FHIR server, merged by identifier. */
export class PatientDirectory {
  constructor(
    private readonly catalog: Pick<StudyCatalog, 'patient' | 'findByIdentifier' | 'findByNameAndBirthDate' | 'studiesOf'>,
    private readonly store: Pick<ConsentStore, 'findPatients' | 'patientExists'>,
  ) {}

  async search(query: PatientQuery): Promise<PatientSummary[]> {
    const found = new Map<string, PatientSummary>();
    const fromCatalog =
      'identifier' in query
        ? this.catalog.findByIdentifier(query.identifier.value, 'system' in query.identifier ? query.identifier.system : undefined)
        : this.catalog.findByNameAndBirthDate(query.name, query.birthDate);
    for (const patient of fromCatalog) {
      found.set(patient.key, {
        key: patient.key,
        identifier: patient.identifier,
        ...optional('name', patient.name && dicomNameForDisplay(patient.name)),
        ...optional('birthDate', patient.birthDate),
        ...optional('sex', patient.sex),
        studies: patient.studies,
      });
    }
    const fhirQuery = 'identifier' in query ? { identifier: query.identifier } : { name: query.name, birthdate: query.birthDate };
    for (const resource of await this.store.findPatients(fhirQuery)) {
      const identifier = pickIdentifier(resource, 'identifier' in query ? query.identifier : undefined);
      if (!identifier || found.has(patientKey(identifier))) {
        continue;
      }
      found.set(patientKey(identifier), fromFhir(resource, identifier, this.catalog.studiesOf(patientKey(identifier))));
    }
    return [...found.values()].slice(0, MAX_RESULTS);
  }

  /** The patient, or undefined when neither the catalogue nor the FHIR server knows them. */
  async find(identifier: PatientIdentifier): Promise<PatientSummary | undefined> {
    const key = patientKey(identifier);
    const inCatalog = this.catalog.patient(key);
    if (inCatalog) {
      return {
        key,
        identifier,
        ...optional('name', inCatalog.name && dicomNameForDisplay(inCatalog.name)),
        ...optional('birthDate', inCatalog.birthDate),
        ...optional('sex', inCatalog.sex),
        studies: inCatalog.studies,
      };
    }
    const [resource] = await this.store.findPatients({ identifier });
    return resource ? fromFhir(resource, identifier, []) : undefined;
  }
}

function fromFhir(resource: Patient, identifier: PatientIdentifier, studies: StudySummary[]): PatientSummary {
  const gender = resource.gender ? ({ male: 'M', female: 'F', other: 'O', unknown: undefined } as const)[resource.gender] : undefined;
  return {
    key: patientKey(identifier),
    identifier,
    ...optional('name', resource.name?.[0] && fhirNameForDisplay(resource.name[0])),
    ...optional('birthDate', resource.birthDate),
    ...optional('sex', gender),
    studies,
  };
}

/** The identifier that was searched for, else the first complete one. */
function pickIdentifier(resource: Patient, wanted: PatientIdentifier | { value: string } | undefined): PatientIdentifier | undefined {
  const complete = (resource.identifier ?? []).filter((id): id is PatientIdentifier => Boolean(id.system && id.value));
  if (wanted) {
    return complete.find((id) => id.value === wanted.value && (!('system' in wanted) || id.system === wanted.system));
  }
  return complete[0];
}

/** "DUPONT^Hélène^^Dr" → "DUPONT Hélène". */
export function dicomNameForDisplay(name: string): string {
  const [family = '', given = '', middle = ''] = name.split('=')[0]!.split('^');
  return [family, given, middle].map((part) => part.trim()).filter(Boolean).join(' ');
}

function fhirNameForDisplay(name: HumanName): string | undefined {
  const text = [name.family, ...(name.given ?? [])].filter(Boolean).join(' ');
  return text || name.text;
}

function optional<K extends string, V>(key: K, value: V | undefined | '' | null): Partial<Record<K, V>> {
  return value === undefined || value === null || value === '' ? {} : ({ [key]: value } as Record<K, V>);
}
