import { assess } from './aggregate';
import { csvField, examsCsv } from './csv-export';
import type { ReferenceTable } from './reference-table';

const TABLE: ReferenceTable = {
  name: 'test',
  levels: [{ id: 'ct-chest', label: 'CT thorax', modalities: ['CT'], match: { targetRegions: ['51185008'] }, levels: { ctdivol: 10, dlp: 400 }, source: 'test' }],
};

describe('the CSV export', () => {
  test('a header, then one row per exam with its quantities, levels and whether it is above', () => {
    const exam = assess(
      { observation: 'Observation/1', studyUid: '2.25.7', dateTime: '2024-01-05T10:15:00+01:00', date: '2024-01-05', modality: 'CT', device: 'CT01', protocol: 'Chest, routine', targetRegions: ['51185008'], quantities: { ctdivol: 12.5, dlp: 380 } },
      TABLE,
    );
    const [header, row, end] = examsCsv([exam]).split('\r\n');
    expect(header).toBe(
      'date,study_instance_uid,modality,device,protocol,reference_level,reference_level_id,ctdivol_mGy,dlp_mGy.cm,dlp_acquisition_mGy.cm,dap_mGy.cm2,agd_mGy,agd_view_mGy,drl_ctdivol_mGy,drl_dlp_mGy.cm,drl_dlp_acquisition_mGy.cm,drl_dap_mGy.cm2,drl_agd_mGy,drl_agd_view_mGy,compared_quantities,above_drl,above_quantities',
    );
    expect(row).toBe('2024-01-05,2.25.7,CT,CT01,"Chest, routine",CT thorax,ct-chest,12.5,380,,,,,10,400,,,,,ctdivol dlp,yes,ctdivol');
    expect(end).toBe('');
  });

  test('a mammography: AGD per view and per breast, each beside its level; the per-view one above', () => {
    const table: ReferenceTable = { name: 'test', levels: [{ id: 'mg', label: 'Mammographie', modalities: ['MG'], match: { targetRegions: [] }, levels: { agd_view: 2, agd: 4 }, source: 'test' }] };
    const exam = assess(
      { observation: 'Observation/2', studyUid: '2.25.8', dateTime: '2024-01-06T09:00:00Z', date: '2024-01-06', modality: 'MG', device: 'MG01', protocol: 'Mammography', targetRegions: [], quantities: { agd: 3.4, agd_view: 2.1 } },
      table,
    );
    expect(examsCsv([exam]).split('\r\n')[1]).toBe('2024-01-06,2.25.8,MG,MG01,Mammography,Mammographie,mg,,,,,3.4,2.1,,,,,4,2,agd_view agd,yes,agd_view');
  });

  test.each([
    ['plain text', 'CT01', 'CT01'],
    ['a comma', 'a,b', '"a,b"'],
    ['a quote', 'say "hi"', '"say ""hi"""'],
    ['a new line', 'a\nb', '"a\nb"'],
    ['a formula', '=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ['a leading @', '@cmd', "'@cmd"],
    ['a negative number stays a number', '-1.5', '-1.5'],
    ['a formula after spaces (a spreadsheet that trims them runs it)', '  =1+1', "'  =1+1"],
    ['a leading tab', '\tx', "'\tx"],
  ])('a field with %s', (_name, text, expected) => {
    expect(csvField(text)).toBe(expected);
  });
});
