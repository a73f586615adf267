import type { ConsentStateOrder } from '@imaging-facade/events';
import { compareStateOrder, stateOrderOf, takesOver } from './state-order';

const at = (lastUpdated: string, versions: number): ConsentStateOrder => ({ lastUpdated, versions });
const HELD = at('2026-12-07T10:00:01.000+00:00', 5);

describe('takesOver: whether a consent view replaces the state it holds with one read from the topic', () => {
  test.each<[string, ConsentStateOrder | undefined, ConsentStateOrder | undefined, boolean]>([
    ['a later change in FHIR (a later instant)', HELD, at('2026-12-07T10:00:02.000+00:00', 6), true],
    ['an earlier state of FHIR, published late by another desk', HELD, at('2026-12-07T10:00:00.000+00:00', 3), false],
    ['the same state of FHIR again (idempotent)', HELD, at('2026-12-07T10:00:01.000+00:00', 5), true],
    ['the same instant written in another offset', HELD, at('2026-12-07T11:00:01.000+01:00', 5), true],
    ['the same instant, one more version: a second change within the millisecond', HELD, at('2026-12-07T10:00:01.000+00:00', 6), true],
    ['the same instant, fewer versions: read before a change committed later', HELD, at('2026-12-07T10:00:01.000+00:00', 4), false],
    ['a later instant with fewer versions (a Consent deleted from FHIR behind the desk)', HELD, at('2026-12-07T10:00:02.000+00:00', 1), true],
    ['a state of a patient with no desk Consent left in FHIR, after one with', HELD, { versions: 0 }, false],
    ['nothing held yet', undefined, at('2026-12-07T10:00:00.000+00:00', 1), true],
    ['a message without order key (published before 2026-12-07): by its place on the topic', HELD, undefined, true],
    ['a keyed message after one without key', undefined, at('2026-12-07T09:00:00.000+00:00', 1), true],
  ])('%s', (_situation, held, incoming, expected) => {
    expect(takesOver(held, incoming)).toBe(expected);
  });
});

describe('stateOrderOf: where a patient state stands in FHIR, from every desk Consent of theirs', () => {
  test('the greatest lastUpdated (as instants, whatever the offset) and the sum of the versions, inactive Consents included', () => {
    const consents = [
      { meta: { versionId: '2', lastUpdated: '2026-12-07T10:00:05.000+00:00' } }, // made inactive
      { meta: { versionId: '1', lastUpdated: '2026-12-07T11:00:04.000+01:00' } },
      { meta: { versionId: '1', lastUpdated: '2026-12-07T10:00:05.500+00:00' } },
    ];
    expect(stateOrderOf(consents)).toEqual({ lastUpdated: '2026-12-07T10:00:05.500+00:00', versions: 4 });
  });

  test('no Consent: no instant, no version, before any other state', () => {
    expect(stateOrderOf([])).toEqual({ versions: 0 });
    expect(compareStateOrder(stateOrderOf([]), at('2026-12-07T10:00:00.000+00:00', 1))).toBeLessThan(0);
  });

  test('each change of the patient raises it: a decision, then a revocation of it', () => {
    const recorded = stateOrderOf([{ meta: { versionId: '1', lastUpdated: '2026-12-07T10:00:00.000+00:00' } }]);
    const revoked = stateOrderOf([{ meta: { versionId: '2', lastUpdated: '2026-12-07T10:00:00.000+00:00' } }]);
    expect(compareStateOrder(revoked, recorded)).toBeGreaterThan(0);
  });
});
