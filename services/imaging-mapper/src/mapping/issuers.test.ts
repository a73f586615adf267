import { issuerTextToSystem, universalEntitySystem } from './issuers';

describe('Universal Entity ID → system', () => {
  it.each<[string | undefined, string | undefined, string | undefined]>([
    ['1.2.250.1.213.1.4.8', 'ISO', 'urn:oid:1.2.250.1.213.1.4.8'],
    ['1.2.250.1.213.1.4.8', 'iso', 'urn:oid:1.2.250.1.213.1.4.8'],
    ['1.02.3', 'ISO', undefined],
    ['https://mpi.example/id', 'URI', 'https://mpi.example/id'],
    ['not a uri', 'URI', undefined],
    ['0E5C9B1A-77D3-4C1F-9A4E-8D2C3B4A5F60', 'UUID', 'urn:uuid:0e5c9b1a-77d3-4c1f-9a4e-8d2c3b4a5f60'],
    ['mpi.example', 'DNS', undefined],
    ['00:11:22:33:44:55:66:77', 'EUI64', undefined],
    ['1.2.3', undefined, undefined],
    [undefined, 'ISO', undefined],
  ])('%j of type %j → %j', (id, type, system) => {
    expect(universalEntitySystem(id, type)).toBe(system);
  });
});

describe('an issuer given as text → system', () => {
  it.each([
    ['1.2.3', 'urn:oid:1.2.3'],
    ['urn:uuid:0e5c9b1a-77d3-4c1f-9a4e-8d2c3b4a5f60', 'urn:uuid:0e5c9b1a-77d3-4c1f-9a4e-8d2c3b4a5f60'],
    ['RIS NORD', 'https://base.example/RIS%20NORD'],
  ])('%j → %j', (issuer, system) => {
    expect(issuerTextToSystem(issuer, 'https://base.example/')).toBe(system);
  });
});
