import { SharedAttributes } from './shared-attributes';

const study = (name: string): unknown => ({
  '00100010': { vr: 'PN', Value: [{ Alphabetic: name }] },
  '0020000D': { vr: 'UI', Value: ['1.2.3'] },
});
const series = (number: number): unknown => ({ '0020000E': { vr: 'UI', Value: ['1.2.3.1'] }, '00200011': { vr: 'IS', Value: [number] } });

describe('SharedAttributes', () => {
  it('gives the value held for an equal one, whatever its key order', () => {
    const shared = new SharedAttributes();
    const first = shared.study(study('Doe^Jane'));
    const reordered = { '0020000D': { Value: ['1.2.3'], vr: 'UI' }, '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] } };

    expect(first).toEqual(study('Doe^Jane'));
    expect(shared.study(study('Doe^Jane'))).toBe(first);
    expect(shared.study(reordered)).toBe(first);
  });

  it.each([
    ['another value', study('Doe^John')],
    ['one more attribute', { ...(study('Doe^Jane') as object), '00080050': { vr: 'SH' } }],
    ['one attribute less', { '0020000D': { vr: 'UI', Value: ['1.2.3'] } }],
    ['a number instead of its text', { ...(study('Doe^Jane') as object), '0020000D': { vr: 'UI', Value: [123] } }],
  ])('holds a value that differs from the one held (%s) as its own, from then on', (_, other) => {
    const shared = new SharedAttributes();
    const first = shared.study(study('Doe^Jane'));

    const second = shared.study(other);

    expect(second).toEqual(other);
    expect(second).not.toBe(first);
    expect(shared.study(other)).toBe(second);
  });

  it('holds the attributes of each series apart', () => {
    const shared = new SharedAttributes();
    const one = shared.series('1.2.3.1', series(1));
    const two = shared.series('1.2.3.2', series(2));

    expect(shared.series('1.2.3.1', series(1))).toBe(one);
    expect(shared.series('1.2.3.2', series(2))).toBe(two);
    expect(shared.series('1.2.3.2', series(1))).not.toBe(one);
  });

  it.each([
    ['not an object', 'Doe^Jane'],
    ['a key that is not a tag', { PatientName: { vr: 'PN' } }],
    ['an attribute without its VR', { '00100010': { Value: ['Doe^Jane'] } }],
  ])('refuses what is not DICOM JSON (%s), also after a valid value was held', (_, value) => {
    const shared = new SharedAttributes();
    expect(shared.study(value)).toBeUndefined();
    shared.study(study('Doe^Jane'));
    expect(shared.study(value)).toBeUndefined();
  });

  it('gives what the schema makes of a value: keys the schema does not know are dropped', () => {
    const shared = new SharedAttributes();
    const withExtra = { '0020000D': { vr: 'UI', Value: ['1.2.3'], note: 'not DICOM JSON' } };

    expect(shared.study(withExtra)).toEqual({ '0020000D': { vr: 'UI', Value: ['1.2.3'] } });
    expect(shared.study(withExtra)).toEqual({ '0020000D': { vr: 'UI', Value: ['1.2.3'] } });
  });
});
