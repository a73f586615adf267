import { nameBasedUuid, urnUuid } from './ids';

describe('name-based UUIDs', () => {
  it('match RFC 4122 version 5 (DNS namespace, "www.example.com")', () => {
    const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
    expect(nameBasedUuid('www.example.com', dns)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('are stable for a name and differ between names', () => {
    expect(urnUuid('Patient?identifier=a|1')).toBe(urnUuid('Patient?identifier=a|1'));
    expect(urnUuid('Patient?identifier=a|1')).not.toBe(urnUuid('Patient?identifier=a|2'));
    expect(urnUuid('x')).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
