import type { Bundle, Patient } from '@medplum/fhirtypes';
import { WITHHELD_LABEL_TOKEN, type PatientConsentState } from '@imaging-facade/consent';
import type { ConsentDecision } from '@imaging-facade/events';
import { createFhirClient } from '@imaging-facade/fhir';
import { newUid } from '../test-support/study-events';
import { patientLabels } from './withheld-label';
import { linkedPatients } from './linked-patients';

/** The withheld label against the real FHIR server (FHIR_BASE_URL), searched as any client would. */
const baseUrl = process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir';
const fhir = createFhirClient({ baseUrl, timeoutMs: 30_000 });
const SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id/label-int';
const REGIONAL = 'https://imagingfacade.org/fhir/sid/patient-id/label-int-region';

async function create(patient: Patient): Promise<string> {
  const response = await fetch(`${baseUrl}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' },
    body: JSON.stringify(patient),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as Patient).id as string;
}

/** A plain search, run once per query (HAPI may answer a repeated one from its cache). */
async function ids(query: string): Promise<string[]> {
  const response = await fetch(`${baseUrl}/${query}`, { headers: { accept: 'application/fhir+json' } });
  expect(response.status).toBe(200);
  return ((await response.json()) as Bundle).entry?.map((entry) => entry.resource?.id as string).sort() ?? [];
}

async function read(id: string): Promise<Patient> {
  return (await (await fetch(`${baseUrl}/Patient/${id}`, { headers: { accept: 'application/fhir+json' } })).json()) as Patient;
}

const decision = (provision: 'permit' | 'deny'): ConsentDecision => ({
  scope: 'patient',
  provision,
  consentId: 'c1',
  recordedAt: new Date().toISOString(),
  recordedBy: 'desk',
});

describe("the withheld label of a refuser's record, on the real FHIR server", () => {
  const run = newUid().slice(-10);
  const birthDate = `19${run.slice(-2)}-0${(Number(run.slice(-3, -2)) % 9) + 1}-1${run.slice(-1)}`;
  const states = new Map<string, PatientConsentState>();
  const labels = patientLabels(fhir, { stateOf: (key) => states.get(key) });
  const refuse = (system: string, value: string, provision: 'permit' | 'deny' = 'deny') =>
    states.set(`${system}|${value}`, { patient: { system, value }, decisions: [decision(provision)], updatedAt: new Date().toISOString() });

  test('a refuser\'s records are left out of a search that excludes the label, their history untouched; an agreement takes it off', async () => {
    const name = `Label${run}`;
    const refuser = await create({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: `R-${run}` }], name: [{ family: name }], birthDate });
    // The hospital's duplicate of the same patient, under the same identifier and a regional one.
    const duplicate = await create({
      resourceType: 'Patient',
      identifier: [{ system: SYSTEM, value: `R-${run}` }, { system: REGIONAL, value: `X-${run}` }],
      name: [{ family: name }],
      birthDate,
    });
    const other = await create({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: `O-${run}` }], name: [{ family: name }], birthDate });

    refuse(SYSTEM, `R-${run}`);
    expect(await labels.sync(`${SYSTEM}|R-${run}`)).toEqual({ labelled: 2, unlabelled: 0 });
    expect(await labels.sync(`${SYSTEM}|R-${run}`)).toEqual({ labelled: 0, unlabelled: 0 });

    expect(await ids(`Patient?family=${name}&_security:not=${encodeURIComponent(WITHHELD_LABEL_TOKEN)}`)).toEqual([other]);
    expect(await ids(`Patient?birthdate=${birthDate}&_security=${encodeURIComponent(WITHHELD_LABEL_TOKEN)}`)).toEqual([refuser, duplicate].sort());
    // No version written: the label is meta, not content.
    expect((await read(refuser)).meta?.versionId).toBe('1');

    // Agreeing again under the identifier takes it off the first record; the duplicate keeps it while its
    // regional identifier still carries a refusal.
    refuse(SYSTEM, `R-${run}`, 'permit');
    refuse(REGIONAL, `X-${run}`);
    expect(await labels.sync(`${SYSTEM}|R-${run}`)).toEqual({ labelled: 0, unlabelled: 1 });
    expect(await ids(`Patient?family=${name}&_security:not=${encodeURIComponent(WITHHELD_LABEL_TOKEN)}&_count=10`)).toEqual([refuser, other].sort());
    expect((await read(duplicate)).meta?.security).toEqual([expect.objectContaining({ system: 'urn:imaging-facade:consent', code: 'withheld' })]);
  });

  test("the periodic check reads every record holding the patients' identifiers, past the server's page size, with their labels", async () => {
    const keys = Array.from({ length: 60 }, (_unused, n) => `${SYSTEM}|C${n}-${run}`);
    for (const key of keys.slice(0, 59)) await create({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: key.split('|')[1]! }], birthDate });
    // A record a master patient index wrote, linking a regional identifier to the last one.
    await create({ resourceType: 'Patient', identifier: [{ system: REGIONAL, value: `MPI-${run}` }, { system: SYSTEM, value: `C59-${run}` }], birthDate });
    refuse(SYSTEM, `C3-${run}`);
    await labels.sync(keys[3]!);

    const records = await linkedPatients(fhir).recordsHolding(keys);

    expect(records).toHaveLength(60);
    expect(records.filter((record) => record.labelled).map((record) => record.keys)).toEqual([[keys[3]]]);
    expect(records.find((record) => record.keys.includes(keys[59]!))?.keys).toEqual([`${REGIONAL}|MPI-${run}`, keys[59]]);
  });

  test('a patient with no record in the index: nothing to label', async () => {
    refuse(SYSTEM, `N-${run}`);
    expect(await labels.sync(`${SYSTEM}|N-${run}`)).toEqual({ labelled: 0, unlabelled: 0 });
  });
});
