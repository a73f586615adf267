import { FRENCH_NATIONAL_LEVELS } from './french-national-levels';
import { levelFits, referenceLevelFor } from './level-matching';
import { referenceTableSchema, type ReferenceTable } from './reference-table';

const HEAD = '69536005';
const CHEST = '51185008';
const ABDOMEN_PELVIS = '818981001';
const CHEST_ABDOMEN_PELVIS = '416775004';

const local: ReferenceTable = referenceTableSchema.parse({
  name: 'local',
  levels: [
    { id: 'ct-head', label: 'CT head', modalities: ['CT'], match: { targetRegions: [HEAD], protocol: 'head|crâne|encéphale' }, levels: { ctdivol: 50, dlp: 800 }, source: 'local' },
    { id: 'ct-chest', label: 'CT chest', modalities: ['CT'], match: { targetRegions: [CHEST] }, levels: { ctdivol: 10, dlp: 400 }, source: 'local' },
    { id: 'ct-ap', label: 'CT abdomen-pelvis', modalities: ['CT'], match: { targetRegions: [ABDOMEN_PELVIS] }, levels: { ctdivol: 12, dlp: 600 }, source: 'local' },
    { id: 'ct-tap', label: 'CT TAP', modalities: ['CT'], match: { targetRegions: [CHEST_ABDOMEN_PELVIS, CHEST, ABDOMEN_PELVIS], protocol: '\\btap\\b' }, levels: { ctdivol: 12, dlp: 800 }, source: 'local' },
    { id: 'mg', label: 'Mammography', modalities: ['MG'], levels: { agd_view: 2, agd: 4 }, source: 'local' },
  ],
});

describe('which reference level an exam is compared with', () => {
  test.each([
    ['a CT of the chest, by its target region', { modality: 'CT', protocol: 'Routine 1', targetRegions: [CHEST] }, 'ct-chest'],
    ['a CT of the head, by its protocol text (any case)', { modality: 'CT', protocol: 'CRÂNE sans injection', targetRegions: [] }, 'ct-head'],
    ['the first level that fits wins', { modality: 'CT', protocol: 'head', targetRegions: [CHEST] }, 'ct-head'],
    ['a thorax-abdomen-pelvis in two acquisitions (chest, abdomen-pelvis) is not a chest CT: the TAP level', { modality: 'CT', protocol: 'Routine', targetRegions: [CHEST, ABDOMEN_PELVIS] }, 'ct-tap'],
    ['a thorax-abdomen-pelvis in one acquisition, by its region', { modality: 'CT', protocol: 'Routine', targetRegions: [CHEST_ABDOMEN_PELVIS] }, 'ct-tap'],
    ['a thorax-abdomen-pelvis by its protocol, whatever its regions', { modality: 'CT', protocol: 'TAP injecté', targetRegions: [] }, 'ct-tap'],
    ['an abdomen-pelvis', { modality: 'CT', protocol: 'Routine', targetRegions: [ABDOMEN_PELVIS] }, 'ct-ap'],
    ['a CT of the chest and the head: no level holds both regions', { modality: 'CT', protocol: 'Routine', targetRegions: [CHEST, HEAD] }, undefined],
    ['a level without a match takes every exam of its modality', { modality: 'MG', protocol: 'anything', targetRegions: [] }, 'mg'],
    ['another modality: none', { modality: 'DX', protocol: 'chest', targetRegions: [CHEST] }, undefined],
    ['nothing fits: none', { modality: 'CT', protocol: 'knee', targetRegions: ['72696002'] }, undefined],
    ['an exam without region and a level by regions only: none', { modality: 'CT', protocol: 'Routine', targetRegions: [] }, undefined],
  ])('%s', (_name, exam, expected) => {
    expect(referenceLevelFor(local, exam)?.id).toBe(expected);
  });

  test('a level by regions does not fit an exam that also covers a region outside them', () => {
    const chest = local.levels[1];
    if (!chest) throw new Error('no chest level');
    expect(levelFits(chest, { modality: 'CT', protocol: '', targetRegions: [CHEST] })).toBe(true);
    expect(levelFits(chest, { modality: 'CT', protocol: '', targetRegions: [CHEST, ABDOMEN_PELVIS] })).toBe(false);
  });

  test.each([
    ['Thorax de face', 'fr-2019-thorax-pa', 200],
    ['CHEST PA', 'fr-2019-thorax-pa', 200],
    ['Thorax profil', 'fr-2019-thorax-lat', 550],
    ['Rachis lombaire face', 'fr-2019-rachis-lombaire-face', 2700],
    ['Bassin face', 'fr-2019-bassin-ap', 3800],
  ])('the French table: a radiograph "%s" is compared with %s (%d mGy.cm2)', (protocol, id, dap) => {
    const level = referenceLevelFor(FRENCH_NATIONAL_LEVELS, { modality: 'DX', protocol, targetRegions: [] });
    expect(level?.id).toBe(id);
    expect(level?.levels.dap).toBe(dap);
  });

  test('the French table: a panoramic dental X-ray (PX) is an orthopantomogram (150 mGy.cm2)', () => {
    const level = referenceLevelFor(FRENCH_NATIONAL_LEVELS, { modality: 'PX', protocol: 'OPT', targetRegions: [] });
    expect([level?.id, level?.levels.dap]).toEqual(['fr-2019-orthopantomographie', 150]);
  });

  test.each([
    ['a CT', { modality: 'CT', protocol: 'TDM thorax', targetRegions: [CHEST] }],
    ['a mammography', { modality: 'MG', protocol: 'Mammographie', targetRegions: [] }],
  ])('the French table has no level for %s (none could be read in a source text): shown, never flagged', (_name, exam) => {
    expect(referenceLevelFor(FRENCH_NATIONAL_LEVELS, exam)).toBeUndefined();
  });
});
