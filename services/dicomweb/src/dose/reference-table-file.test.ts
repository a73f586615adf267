import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FRENCH_NATIONAL_LEVELS } from './french-national-levels';
import { loadReferenceTable } from './reference-table-file';

function fileWith(text: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'drl-')), 'levels.json');
  writeFileSync(file, text);
  return file;
}

const level = (extra: Record<string, unknown>) => ({ id: 'a', label: 'A', modalities: ['CT'], levels: { dlp: 1 }, source: 's', ...extra });

describe('a reference table file', () => {
  test('without a file, the French national table', () => {
    expect(loadReferenceTable(undefined)).toBe(FRENCH_NATIONAL_LEVELS);
  });

  test('a site\'s table with CT, per-view and per-breast mammography levels is read as written', () => {
    const table = {
      name: 'CH Exemple',
      levels: [level({ id: 'ct-tap', match: { targetRegions: ['416775004'] }, levels: { ctdivol: 12, dlp: 800 } }), level({ id: 'mg', modalities: ['MG'], levels: { agd_view: 2.5, agd: 5 } })],
    };
    const loaded = loadReferenceTable(fileWith(JSON.stringify(table)));
    expect(loaded.levels.map((item) => [item.id, item.levels, item.match.targetRegions])).toEqual([
      ['ct-tap', { ctdivol: 12, dlp: 800 }, ['416775004']],
      ['mg', { agd_view: 2.5, agd: 5 }, []],
    ]);
  });

  test.each([
    ['a level in an unknown quantity', [level({ levels: { mas: 3 } })], /mas/],
    ['no level at all for an exam', [level({ levels: {} })], /at least one level/],
    ['a negative level, with its unit', [level({ levels: { dlp: -1 } })], /dlp must be a positive number of mGy\.cm/],
    ['a broken regular expression', [level({ match: { protocol: '(' } })], /regular expression/],
    ['a misspelt match key', [level({ match: { targetRegion: ['51185008'] } })], /targetRegion/],
    ['a target region that is not a SNOMED CT code', [level({ match: { targetRegions: ['chest'] } })], /SNOMED CT/],
    ['two levels with one id', [level({}), level({})], /unique/],
    ['a modality that is not a DICOM code', [level({ modalities: ['scanner'] })], /modality/],
  ])('is refused with %s, naming the file', (_name, levels, message) => {
    const file = fileWith(JSON.stringify({ name: 'x', levels }));
    expect(() => loadReferenceTable(file)).toThrow(message);
    expect(() => loadReferenceTable(file)).toThrow(file);
  });

  test('that is not JSON is refused, naming the file', () => {
    const file = fileWith('{ nope');
    expect(() => loadReferenceTable(file)).toThrow(file);
  });
});
