import { dropWithheldLabel, WITHHELD_LABEL } from './withheld-label';

describe('dropWithheldLabel: what a client is shown of the label', () => {
  const confidential = { system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code: 'R' };
  test.each<[string, { meta?: { security?: unknown[]; versionId?: string } }, unknown]>([
    ['the label alone: no security left', { meta: { versionId: '1', security: [{ ...WITHHELD_LABEL }] } }, { versionId: '1' }],
    ['beside another label: that one is kept', { meta: { security: [confidential, { ...WITHHELD_LABEL }] } }, { security: [confidential] }],
    ['another label only: untouched', { meta: { security: [confidential] } }, { security: [confidential] }],
    ['no meta: untouched', {}, undefined],
  ])('%s', (_situation, resource, meta) => {
    expect(dropWithheldLabel(resource).meta).toEqual(meta);
  });
});
