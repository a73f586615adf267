import type { InstanceHeader } from './header-reader';
import { checkIdentity } from './instance-identity';

const CT = '1.2.840.10008.5.1.4.1.1.2';
const MR = '1.2.840.10008.5.1.4.1.1.4';

function header(overrides: Partial<InstanceHeader>): InstanceHeader {
  return {
    studyInstanceUid: '1.2.3',
    seriesInstanceUid: '1.2.3.4',
    sopInstanceUid: '1.2.3.4.5',
    sopClassUid: CT,
    study: {},
    series: {},
    instance: {},
    decodeWarning: undefined,
    ...overrides,
  };
}

const COMMAND = { sopClassUid: CT, sopInstanceUid: '1.2.3.4.5' };

describe('checkIdentity', () => {
  it('accepts a dataset that identifies itself fully and is the instance of the command', () => {
    expect(checkIdentity(header({}), COMMAND)).toEqual({
      ok: true,
      identity: { studyInstanceUid: '1.2.3', seriesInstanceUid: '1.2.3.4', sopInstanceUid: '1.2.3.4.5', sopClassUid: CT },
    });
  });

  it.each([
    { situation: 'no Study Instance UID', overrides: { studyInstanceUid: undefined }, status: 0xc000, reason: 'Study Instance UID missing' },
    { situation: 'an empty Series Instance UID', overrides: { seriesInstanceUid: '' }, status: 0xc000, reason: 'Series Instance UID missing' },
    { situation: 'no SOP Instance UID', overrides: { sopInstanceUid: undefined }, status: 0xc000, reason: 'SOP Instance UID missing' },
    { situation: 'no SOP Class UID', overrides: { sopClassUid: undefined }, status: 0xc000, reason: 'SOP Class UID missing' },
    {
      situation: 'a Study Instance UID that would escape the storage directory',
      overrides: { studyInstanceUid: '../../etc' },
      status: 0xc000,
      reason: 'Study Instance UID is not a valid UID',
    },
    {
      situation: 'a Series Instance UID longer than 64 characters',
      overrides: { seriesInstanceUid: `1.${'2'.repeat(70)}` },
      status: 0xc000,
      reason: 'Series Instance UID is not a valid UID',
    },
    {
      situation: 'another SOP Class than the command',
      overrides: { sopClassUid: MR },
      status: 0xa900,
      reason: 'SOP Class UID differs from the command',
    },
    {
      situation: 'another SOP Instance than the command',
      overrides: { sopInstanceUid: '1.2.3.4.6' },
      status: 0xc000,
      reason: 'SOP Instance UID differs from the command',
    },
  ])('refuses a dataset with $situation', ({ overrides, status, reason }) => {
    expect(checkIdentity(header(overrides), COMMAND)).toEqual({ ok: false, failure: { status, reason } });
  });
});
