import { randomUUID } from 'node:crypto';
import type { Patient } from '@medplum/fhirtypes';
import { createFhirClient } from './client';

/** The client against the real HAPI FHIR server (FHIR_BASE_URL): what its searches rely on the server for. */
const client = createFhirClient({ baseUrl: process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir', timeoutMs: 20_000 });
const SYSTEM = 'urn:oid:2.25.4711.1';

async function createPatient(value: string): Promise<void> {
  const response = await fetch(`${client.baseUrl}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value }] } satisfies Patient),
  });
  expect(response.status).toBe(201);
}

describe('the FHIR client on HAPI', () => {
  it('reads one page of a search fresh, of the size asked, while a search of every page still pages', async () => {
    const value = `client-${randomUUID()}`;
    const params = { identifier: `${SYSTEM}|${value}`, _count: '2' };
    expect(await client.search('Patient', params)).toEqual([]);

    await createPatient(value);
    // The same search again, right after the write: answered by the server anew, not from an earlier answer.
    expect(await client.search('Patient', params)).toHaveLength(1);

    await createPatient(value);
    await createPatient(value);
    // A search the server is asked not to store still stops at its `_count`...
    expect(await client.search('Patient', params)).toHaveLength(2);
    // ...and one that reads every page follows the server's next links to the third.
    const all: Patient[] = [];
    for await (const patient of client.searchAll('Patient', params)) {
      all.push(patient);
    }
    expect(all).toHaveLength(3);
  });
});
