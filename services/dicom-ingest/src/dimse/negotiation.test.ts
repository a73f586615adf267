import { decideContext, isOurAeTitle, isStorageSopClass, isValidAeTitle } from './negotiation';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const VERIFICATION = '1.2.840.10008.1.1';
const IMPLICIT = '1.2.840.10008.1.2';
const EXPLICIT = '1.2.840.10008.1.2.1';
const BIG = '1.2.840.10008.1.2.2';
const DEFLATE = '1.2.840.10008.1.2.1.99';
const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';
const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
const JPEG_LOSSLESS_57 = '1.2.840.10008.1.2.4.57';
const JPEG_LOSSLESS = '1.2.840.10008.1.2.4.70';
const JPEG_LS = '1.2.840.10008.1.2.4.80';
const JPEG_LS_NEAR = '1.2.840.10008.1.2.4.81';
const J2K_LOSSLESS = '1.2.840.10008.1.2.4.90';
const J2K = '1.2.840.10008.1.2.4.91';
const RLE = '1.2.840.10008.1.2.5';
const MPEG2 = '1.2.840.10008.1.2.4.100';
const HTJ2K = '1.2.840.10008.1.2.4.201';

describe('decideContext', () => {
  it.each([
    { situation: 'CT proposed in implicit VR only', abstract: CT, proposed: [IMPLICIT], accepted: IMPLICIT },
    { situation: 'the sender prefers explicit VR', abstract: CT, proposed: [EXPLICIT, IMPLICIT], accepted: EXPLICIT },
    { situation: 'big endian first', abstract: CT, proposed: [BIG, EXPLICIT], accepted: BIG },
    { situation: 'deflate first', abstract: CT, proposed: [DEFLATE, EXPLICIT], accepted: DEFLATE },
    { situation: 'JPEG baseline', abstract: CT, proposed: [JPEG_BASELINE], accepted: JPEG_BASELINE },
    { situation: 'JPEG extended', abstract: CT, proposed: [JPEG_EXTENDED], accepted: JPEG_EXTENDED },
    { situation: 'JPEG lossless process 14', abstract: CT, proposed: [JPEG_LOSSLESS_57], accepted: JPEG_LOSSLESS_57 },
    { situation: 'JPEG lossless SV1', abstract: CT, proposed: [JPEG_LOSSLESS], accepted: JPEG_LOSSLESS },
    { situation: 'JPEG-LS lossless', abstract: CT, proposed: [JPEG_LS], accepted: JPEG_LS },
    { situation: 'JPEG-LS near-lossless', abstract: CT, proposed: [JPEG_LS_NEAR], accepted: JPEG_LS_NEAR },
    { situation: 'JPEG 2000 lossless', abstract: CT, proposed: [J2K_LOSSLESS], accepted: J2K_LOSSLESS },
    { situation: 'JPEG 2000', abstract: CT, proposed: [J2K], accepted: J2K },
    { situation: 'RLE', abstract: CT, proposed: [RLE], accepted: RLE },
    { situation: 'an unsupported syntax before a supported one', abstract: CT, proposed: [MPEG2, HTJ2K, J2K, EXPLICIT], accepted: J2K },
    {
      situation: 'a storage class dcmjs-dimse does not list (Enhanced US Volume)',
      abstract: '1.2.840.10008.5.1.4.1.1.6.2',
      proposed: [EXPLICIT],
      accepted: EXPLICIT,
    },
    { situation: 'verification', abstract: VERIFICATION, proposed: [IMPLICIT], accepted: IMPLICIT },
  ])('accepts $situation with the first syntax we store as-is', ({ abstract, proposed, accepted }) => {
    expect(decideContext(abstract, proposed)).toEqual({ accept: true, transferSyntaxUid: accepted });
  });

  it.each([
    { situation: 'only video syntaxes', abstract: CT, proposed: [MPEG2], reason: 'transfer-syntaxes-not-supported' },
    { situation: 'no syntax at all', abstract: CT, proposed: [], reason: 'transfer-syntaxes-not-supported' },
    { situation: 'verification in JPEG only', abstract: VERIFICATION, proposed: [JPEG_BASELINE], reason: 'transfer-syntaxes-not-supported' },
    {
      situation: 'a query/retrieve model',
      abstract: '1.2.840.10008.5.1.4.1.2.2.1',
      proposed: [IMPLICIT],
      reason: 'abstract-syntax-not-supported',
    },
    { situation: 'modality worklist', abstract: '1.2.840.10008.5.1.4.31', proposed: [IMPLICIT], reason: 'abstract-syntax-not-supported' },
    {
      situation: 'storage commitment (not a storage SOP class)',
      abstract: '1.2.840.10008.1.20.1',
      proposed: [IMPLICIT],
      reason: 'abstract-syntax-not-supported',
    },
  ])('rejects $situation', ({ abstract, proposed, reason }) => {
    expect(decideContext(abstract, proposed)).toEqual({ accept: false, reason });
  });
});

describe('isStorageSopClass', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.2', true],
    ['1.2.840.10008.5.1.4.1.1.88.33', true],
    ['1.2.840.10008.5.1.4.1.1.104.1', true],
    ['1.2.840.10008.5.1.4.1.1', false],
    ['1.2.840.10008.5.1.4.1.2.1.1', false],
  ])('%s is a storage SOP class: %s', (uid, expected) => {
    expect(isStorageSopClass(uid)).toBe(expected);
  });
});

describe('isOurAeTitle', () => {
  it.each([
    ['FACADE', 'FACADE', true],
    ['FACADE   ', 'FACADE', true],
    ['facade', 'FACADE', false],
    ['FACADE2', 'FACADE', false],
    ['', 'FACADE', false],
  ])('called "%s" with ours "%s": %s', (called, ours, expected) => {
    expect(isOurAeTitle(called, ours)).toBe(expected);
  });
});

describe('isValidAeTitle', () => {
  it.each([
    ['STORESCU', true],
    ['CT_1-A.b@site', true],
    [' LEADING', true],
    ['SIXTEEN_CHARS_XX', true],
    ['SEVENTEEN_CHARS_X', false],
    ['ST\\ORE', false], // two values wherever the title is written
    ['TAB\tAE', false],
    ['', false],
    ['   ', false],
    ['CAF\u00c9', false],
  ])('"%s": %s', (title, expected) => {
    expect(isValidAeTitle(title)).toBe(expected);
  });
});
