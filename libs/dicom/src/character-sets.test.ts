import { TextDecoder } from 'node:util';
import { bytesDecodedBy, characterSets, decodeText, textKind, withoutEscapeSequences, type TextKind } from './character-sets';
import { runPydicom } from '../../../test/support/sample-files';

/** Bytes written with `ESC` for 0x1B, printable ASCII as is, and `<hex hex …>` for the others. */
function bytes(text: string): Uint8Array {
  const out: number[] = [];
  for (const part of text.split(/(<[0-9A-Fa-f ]+>)/)) {
    if (part.startsWith('<')) {
      out.push(...part.slice(1, -1).trim().split(/\s+/).map((hex) => Number.parseInt(hex, 16)));
    } else {
      out.push(...Buffer.from(part.replace(/ESC/g, '\x1b'), 'latin1'));
    }
  }
  return Uint8Array.from(out);
}

interface Case {
  situation: string;
  charset: string[];
  kind: TextKind;
  value: string;
  expected: string;
  /**
   * Python's own codecs, where Debian's pydicom 2.3 cannot be the independent reader: it has no
   * ISO_IR 203 and leaves the escape sequence of ISO 2022 IR 58 in the text.
   */
  pythonCodec?: string;
}

/** Examples of PS3.5 Annexes H (Japanese), I (Korean), J (UTF-8, GB18030), K (GB2312) and single-byte sets. */
const CASES: Case[] = [
  { situation: 'no character set: ASCII', charset: [], kind: 'person-name', value: 'Doe^John', expected: 'Doe^John' },
  { situation: 'Latin-1 (French)', charset: ['ISO_IR 100'], kind: 'person-name', value: 'Buc^J<E9>r<F4>me', expected: 'Buc^Jérôme' },
  { situation: 'Latin-1 (German)', charset: ['ISO_IR 100'], kind: 'person-name', value: '<C4>neas^R<FC>diger', expected: 'Äneas^Rüdiger' },
  { situation: 'Latin-2 (Czech)', charset: ['ISO_IR 101'], kind: 'multi-valued', value: 'Dvo<F8><E1>k', expected: 'Dvořák' },
  { situation: 'Latin-3 (Maltese)', charset: ['ISO_IR 109'], kind: 'multi-valued', value: '<D5>or<F5>', expected: 'Ġorġ' },
  { situation: 'Latin-4 (Latvian)', charset: ['ISO_IR 110'], kind: 'multi-valued', value: '<AB>irts', expected: 'Ģirts' },
  { situation: 'Cyrillic', charset: ['ISO_IR 144'], kind: 'person-name', value: '<BB EE DA>ce<DC D1>yp<D3>', expected: 'Люкceмбypг' },
  { situation: 'Arabic', charset: ['ISO_IR 127'], kind: 'person-name', value: '<E2 C8 C7 E6 EA>^<E4 E6 D2 C7 D1>', expected: 'قباني^لنزار' },
  { situation: 'Greek', charset: ['ISO_IR 126'], kind: 'person-name', value: '<C4 E9 EF ED F5 F3 E9 EF F2>', expected: 'Διονυσιος' },
  { situation: 'Hebrew', charset: ['ISO_IR 138'], kind: 'person-name', value: '<F9 F8 E5 EF>^<E3 E1 E5 F8 E4>', expected: 'שרון^דבורה' },
  { situation: 'Latin-5 (Turkish)', charset: ['ISO_IR 148'], kind: 'multi-valued', value: '<DE FC>kr<FC>', expected: 'Şükrü' },
  {
    situation: 'Latin-9',
    charset: ['ISO_IR 203'],
    kind: 'multi-valued',
    value: '<BC>uvre <A4>',
    expected: 'Œuvre €',
    pythonCodec: "v.decode('iso8859_15')",
  },
  { situation: 'Thai', charset: ['ISO_IR 166'], kind: 'multi-valued', value: '<A1 A2>', expected: 'กข' },
  {
    situation: 'UTF-8 with an ideographic group (J.1)',
    charset: ['ISO_IR 192'],
    kind: 'person-name',
    value: 'Wang^XiaoDong=<E7 8E 8B>^<E5 B0 8F E6 9D B1>=',
    expected: 'Wang^XiaoDong=王^小東=',
  },
  {
    situation: 'GB18030 (J.2)',
    charset: ['GB18030'],
    kind: 'person-name',
    value: 'Wang^XiaoDong=<CD F5>^<D0 A1 B6 AB>=',
    expected: 'Wang^XiaoDong=王^小东=',
  },
  { situation: 'GBK', charset: ['GBK'], kind: 'multi-valued', value: '<CD F5 D0 A1 B6 AB>', expected: '王小东' },
  {
    situation: 'JIS X 0208 in G0 with ASCII (H.3.1)',
    charset: ['', 'ISO 2022 IR 87'],
    kind: 'person-name',
    value: 'Yamada^Tarou=ESC$B;3EDESC(B^ESC$BB@O:ESC(B=ESC$B$d$^$@ESC(B^ESC$B$?$m$&ESC(B',
    expected: 'Yamada^Tarou=山田^太郎=やまだ^たろう',
  },
  {
    situation: 'JIS X 0201 Katakana and JIS X 0208 (H.3.2)',
    charset: ['ISO 2022 IR 13', 'ISO 2022 IR 87'],
    kind: 'person-name',
    value: '<D4 CF C0 DE>^<C0 DB B3>=ESC$B;3EDESC(J^ESC$BB@O:ESC(J=ESC$B$d$^$@ESC(J^ESC$B$?$m$&ESC(J',
    expected: 'ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう',
  },
  {
    situation: 'JIS X 0212 supplementary kanji',
    charset: ['', 'ISO 2022 IR 159'],
    kind: 'multi-valued',
    value: 'ESC$(D<30 21>ESC(B',
    expected: '丂',
  },
  {
    situation: 'KS X 1001 in G1 (I.2)',
    charset: ['', 'ISO 2022 IR 149'],
    kind: 'person-name',
    value: 'Hong^Gildong=ESC$)C<FB F3>^ESC$)C<D1 CE D4 D7>=ESC$)C<C8 AB>^ESC$)C<B1 E6 B5 BF>',
    expected: 'Hong^Gildong=洪^吉洞=홍^길동',
  },
  {
    situation: 'GB 2312 in G1 (K.2)',
    charset: ['', 'ISO 2022 IR 58'],
    kind: 'person-name',
    value: 'Zhang^XiaoDong=ESC$)A<D5 C5>^ESC$)A<D0 A1 B6 AB>=',
    expected: 'Zhang^XiaoDong=张^小东=',
    pythonCodec: "v.replace(b'\\x1b$)A', b'').decode('gb2312')",
  },
  {
    situation: 'Latin-1 and Cyrillic switched by escape sequences',
    charset: ['ISO 2022 IR 100', 'ISO 2022 IR 144'],
    kind: 'multi-valued',
    value: 'J<E9>r<F4>me ESC-L<BB EE DA>ESC-A <E9>',
    expected: 'Jérôme Люк é',
  },
  {
    situation: 'two values, each starting again in value 1’s sets',
    charset: ['', 'ISO 2022 IR 87'],
    kind: 'multi-valued',
    value: 'ESC$B;3EDESC(B\\ESC$BB@O:ESC(B',
    expected: '山田\\太郎',
  },
  {
    situation: 'a line end in text resets to value 1’s sets',
    charset: ['', 'ISO 2022 IR 149'],
    kind: 'text',
    value: 'ESC$)C<C8 AB>\r\nok',
    expected: '홍\r\nok',
  },
];

describe('decodeText', () => {
  const expectedByPydicom = runPydicom<string[]>(
    `
import json, sys, pydicom.charset as c
delimiters = {'person-name': {0x5c, 0x5e, 0x3d}, 'multi-valued': {0x5c}, 'text': set()}
def decode(cs, k, v, codec):
    v = bytes(v)
    if codec:
        return eval(codec, {'v': v})
    return c.decode_bytes(v, c.convert_encodings(cs), delimiters[k] | {0x0a, 0x0d, 0x09, 0x0c})
print(json.dumps([decode(*case) for case in json.loads(sys.argv[1])]))
`,
    [
      JSON.stringify(
        CASES.map(({ charset, kind, value, pythonCodec }) => [charset, kind, [...bytes(value)], pythonCodec ?? null]),
      ),
    ],
  );

  it.each(CASES.map((testCase, index) => ({ ...testCase, index })))(
    '$situation ($charset)',
    ({ charset, kind, value, expected, index }) => {
      expect(decodeText(bytes(value), characterSets(charset), kind)).toBe(expected);
      // pydicom (or Python's codecs), reading the same bytes on its own, agrees.
      expect(expectedByPydicom[index]).toBe(expected);
    },
  );

  it.each<[string, string[], TextKind, string, string]>([
    // 49 3D is 表: inside a two-byte character, 03/13 is not the group delimiter.
    ['a JIS X 0208 character whose second byte is “=”', ['', 'ISO 2022 IR 87'], 'person-name', 'ESC$BI=ESC(B^a', '表^a'],
    ['a JIS X 0208 character whose second byte is “\\”', ['', 'ISO 2022 IR 87'], 'multi-valued', 'ESC$B0\\ESC(B', '移'],
    ['G1 is reset at “^”: a two-byte set not designated again is not guessed', ['', 'ISO 2022 IR 149'], 'person-name', 'ESC$)C<FB F3>^<D1 CE>', '洪^\uFFFD\uFFFD'],
    ['a byte of G1 without a G1 set', ['', 'ISO 2022 IR 87'], 'multi-valued', 'a<E9>b', 'a\uFFFDb'],
    ['a two-byte character cut short', ['', 'ISO 2022 IR 87'], 'multi-valued', 'ESC$B;', '\uFFFD'],
    ['an unknown escape sequence is dropped', ['', 'ISO 2022 IR 87'], 'multi-valued', 'aESC(Zb', 'ab'],
    ['an escape sequence cut short is dropped', ['', 'ISO 2022 IR 87'], 'multi-valued', 'abESC$', 'ab'],
    ['JIS X 0208-1978 (ESC $ @)', ['', 'ISO 2022 IR 87'], 'multi-valued', 'ESC$@;3EDESC(B', '山田'],
  ])('%s', (_situation, charset, kind, value, expected) => {
    expect(decodeText(bytes(value), characterSets(charset), kind)).toBe(expected);
  });
});

describe('characterSets', () => {
  it.each([
    ['ISO-IR 100'],
    ['iso_ir 100'],
    ['ISO_IR100'],
    [' ISO_IR 100 '],
  ])('reads the misspelling %j as Latin-1', (term) => {
    expect(decodeText(bytes('J<E9>r<F4>me'), characterSets([term]), 'multi-valued')).toBe('Jérôme');
  });

  it('reads text of an unknown character set with the default repertoire and says which', () => {
    const sets = characterSets(['ISO_IR 999']);
    expect(sets.unknown).toEqual(['ISO_IR 999']);
    expect(decodeText(bytes('abc'), sets, 'multi-valued')).toBe('abc');
  });

  it('takes value 1 of several values without ISO 2022 terms', () => {
    expect(decodeText(bytes('<E7 8E 8B>'), characterSets(['ISO_IR 192', 'ISO_IR 100']), 'multi-valued')).toBe('王');
  });

  it('reads ISO_IR 100 as value 1 of code extensions as its ISO 2022 form', () => {
    const sets = characterSets(['ISO_IR 100', 'ISO 2022 IR 87']);
    expect(decodeText(bytes('<E9>ESC$B;3EDESC(B'), sets, 'multi-valued')).toBe('é山田');
  });
});

describe('textKind', () => {
  it.each([
    ['PN', 'person-name'],
    ['SH', 'multi-valued'],
    ['LO', 'multi-valued'],
    ['UC', 'multi-valued'],
    ['ST', 'text'],
    ['LT', 'text'],
    ['UT', 'text'],
    ['CS', undefined],
    ['UI', undefined],
    ['DA', undefined],
    ['UR', undefined],
  ])('%s → %s', (vr, kind) => {
    expect(textKind(vr)).toBe(kind);
  });
});

describe('bytesDecodedBy', () => {
  const allBytes = Uint8Array.from({ length: 256 }, (_, byte) => byte);

  it.each(['latin1', 'iso-8859-1', 'windows-1252'])('gives back every byte the %s decoder read', (label) => {
    const text = new TextDecoder(label).decode(allBytes);
    expect(bytesDecodedBy(label, text)).toEqual(allBytes);
  });

  it('gives back the bytes of ASCII and half-width Katakana read by Shift_JIS', () => {
    const original = bytes('abc\\<B1 B2 DF>');
    expect(bytesDecodedBy('shift-jis', new TextDecoder('shift_jis').decode(original))).toEqual(original);
  });

  it('gives back UTF-8', () => {
    expect(bytesDecodedBy('utf-8', '王^小東')).toEqual(new TextEncoder().encode('王^小東'));
  });

  it('gives up on characters that a multi-byte decoder made of two bytes', () => {
    expect(bytesDecodedBy('euc-kr', '홍')).toBeUndefined();
  });

  it('gives up on an unknown decoder label', () => {
    expect(bytesDecodedBy('no-such-encoding', 'a')).toBeUndefined();
  });
});

describe('withoutEscapeSequences', () => {
  it('removes ISO 2022 escape sequences and keeps the text', () => {
    expect(withoutEscapeSequences('\x1b$)C홍^\x1b$)C길동')).toBe('홍^길동');
  });
});
