import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { formatDateTime as dicomDateTime, referenceValueType, type DicomJson } from '@imaging-facade/dicom';
import { kosDataset, ManifestBuildError, writeKos, type ManifestContent } from './kos-writer';
import { CT, ECG, ENHANCED_CT, GSPS, KOS, manifest, MR, PDF, PRIVATE, RDSR, RT_DOSE, RT_PLAN, SEGMENTATION, study } from '../test-support/manifest-content';
import { silenceDcmjs } from '@imaging-facade/dicom';
import { runDcmtk as runTool } from '../../../../test/support/dcmtk';
import { runPydicom } from '../../../../test/support/sample-files';

async function written(content: ManifestContent): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kos-'));
  const file = path.join(dir, 'manifest.dcm');
  await writeFile(file, writeKos(content));
  return file;
}

/** DCMTK's findings about a manifest: errors, and the warnings that mean a broken reference or IOD. */
function problems(dsrdumpOutput: string): string[] {
  return dsrdumpOutput.split('\n').filter((line) => /^[EF]: /.test(line) || /^W: .*(invalid|incomplete|unknown|absent)/i.test(line));
}

/** What pydicom, an independent reader, finds in the manifest. */
interface KosView {
  sopClass: string;
  modality: string;
  title: [string, string, string];
  template: [string, string];
  patientName: string;
  patientId: string;
  otherIds: string[];
  accession: string;
  studyDate: string;
  contentDate: string;
  contentTime: string;
  offset: string | null;
  charset: string;
  evidence: Array<{ study: string; series: Array<{ uid: string; ae: string; location: string; url: string | null; sops: string[][] }> }>;
  content: Array<{ rel: string; type: string; ref: string[] | null }>;
  request: Array<{ accession: string; study: string }> | null;
  institution: string | null;
}

const KOS_VIEW = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
def code(item): return [item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning]
print(json.dumps({
  'sopClass': ds.SOPClassUID, 'modality': ds.Modality,
  'title': code(ds.ConceptNameCodeSequence[0]),
  'template': [ds.ContentTemplateSequence[0].MappingResource, ds.ContentTemplateSequence[0].TemplateIdentifier],
  'patientName': str(ds.PatientName), 'patientId': ds.PatientID,
  'otherIds': [item.PatientID for item in ds.get('OtherPatientIDsSequence', [])],
  'accession': ds.AccessionNumber, 'studyDate': ds.StudyDate,
  'contentDate': ds.ContentDate, 'contentTime': ds.ContentTime,
  'offset': ds.get('TimezoneOffsetFromUTC'), 'charset': ds.SpecificCharacterSet,
  'evidence': [{'study': e.StudyInstanceUID, 'series': [{'uid': s.SeriesInstanceUID, 'ae': s.RetrieveAETitle,
      'location': s.RetrieveLocationUID, 'url': s.get('RetrieveURL'),
      'sops': [[r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID] for r in s.ReferencedSOPSequence]}
      for s in e.ReferencedSeriesSequence]} for e in ds.CurrentRequestedProcedureEvidenceSequence],
  'content': [{'rel': c.RelationshipType, 'type': c.ValueType,
      'ref': [c.ReferencedSOPSequence[0].ReferencedSOPClassUID, c.ReferencedSOPSequence[0].ReferencedSOPInstanceUID] if 'ReferencedSOPSequence' in c else None}
      for c in ds.ContentSequence],
  'request': [{'accession': r.AccessionNumber, 'study': r.StudyInstanceUID} for r in ds.ReferencedRequestSequence] if 'ReferencedRequestSequence' in ds else None,
  'institution': ds.get('InstitutionName'),
}))
`;

describe('writeKos: the study manifest as a Key Object Selection document', () => {
  beforeAll(() => silenceDcmjs());
  let file: string;
  let view: KosView;

  beforeAll(async () => {
    file = await written(manifest());
    view = runPydicom<KosView>(KOS_VIEW, [file]);
  });

  it('is a valid Part 10 file for DCMTK (dcmdump), in Explicit VR Little Endian', async () => {
    const dump = await runTool('dcmdump', ['-q', file]);
    expect(dump.code).toBe(0);
    expect(dump.output).toContain('(0002,0010) UI =LittleEndianExplicit');
    expect(dump.output).toContain('(0002,0002) UI =KeyObjectSelectionDocumentStorage');
  });

  it('is a valid Key Object Selection document for DCMTK (dsrdump checks the IOD and TID 2010 value types)', async () => {
    const dump = await runTool('dsrdump', ['-Ee', file]);
    expect(problems(dump.output)).toEqual([]);
    expect(dump.code).toBe(0);
    expect(dump.output).toContain('Key Object Selection Document');
    expect(dump.output).toContain('"Manifest"');
  });

  it('is titled (113030, DCM, "Manifest") and follows TID 2010, in a KO series', () => {
    expect(view.sopClass).toBe(KOS);
    expect(view.modality).toBe('KO');
    expect(view.title).toEqual(['113030', 'DCM', 'Manifest']);
    expect(view.template).toEqual(['DCMR', '2010']);
  });

  it('references every instance by series in the evidence sequence, with where to retrieve each series', () => {
    expect(view.evidence).toEqual([
      {
        study: '1.2.3',
        series: manifest().series.map((series) => ({
          uid: series.seriesInstanceUid,
          ae: 'FACADE',
          location: '1.2.840.99.1',
          url: `http://node-a:8010/dicomweb/studies/1.2.3/series/${series.seriesInstanceUid}`,
          sops: series.instances.map((instance) => [instance.sopClassUid, instance.sopInstanceUid]),
        })),
      },
    ]);
  });

  it('lists every instance in the content tree: IMAGE, WAVEFORM or COMPOSITE by SOP class, after a description', () => {
    expect(view.content[0]).toEqual({ rel: 'CONTAINS', type: 'TEXT', ref: null });
    expect(view.content.slice(1)).toEqual([
      { rel: 'CONTAINS', type: 'IMAGE', ref: [CT, '1.2.3.1.1'] },
      { rel: 'CONTAINS', type: 'IMAGE', ref: [CT, '1.2.3.1.2'] },
      { rel: 'CONTAINS', type: 'IMAGE', ref: [MR, '1.2.3.2.1'] },
      { rel: 'CONTAINS', type: 'COMPOSITE', ref: [RDSR, '1.2.3.3.1'] },
      { rel: 'CONTAINS', type: 'COMPOSITE', ref: [GSPS, '1.2.3.3.2'] },
      { rel: 'CONTAINS', type: 'WAVEFORM', ref: [ECG, '1.2.3.3.3'] },
      { rel: 'CONTAINS', type: 'COMPOSITE', ref: [PDF, '1.2.3.3.4'] },
    ]);
  });

  it('copies the patient and study modules, in UTF-8, and nothing else of the study', () => {
    expect(view.charset).toBe('ISO_IR 192');
    expect(view.patientName).toBe('Müller^Zoë=山田^太郎');
    expect(view.patientId).toBe('PID-1');
    expect(view.otherIds).toEqual(['279035121518989']);
    expect(view.accession).toBe('ACC-42');
    expect(view.studyDate).toBe('20240105');
    expect(view.institution).toBeNull();
  });

  it('names the order by accession number (Referenced Request Sequence)', () => {
    expect(view.request).toEqual([{ accession: 'ACC-42', study: '1.2.3' }]);
  });

  it("dates its content in the study's time zone offset", () => {
    expect([view.contentDate, view.contentTime, view.offset]).toEqual(['20240105', '130000.250', '+0100']);
  });

  it('without an accession number, has no Referenced Request Sequence and empty type 2 attributes', async () => {
    const bare = await written(
      manifest({ study: { '0020000D': { vr: 'UI', Value: ['1.2.3'] }, '00100020': { vr: 'LO', Value: ['PID-1'] } } }),
    );
    const dump = await runTool('dsrdump', ['-Ee', bare]);
    expect(problems(dump.output)).toEqual([]);
    expect(runPydicom<KosView>(KOS_VIEW, [bare]).request).toBeNull();
  });

  it('without a DICOMweb base URL, has no Retrieve URL', () => {
    const dataset = kosDataset(manifest({ retrieve: { aeTitle: 'FACADE', locationUid: '1.2.840.99.1' } }));
    const series = (dataset['0040A375']?.Value?.[0] as Record<string, { Value?: unknown[] }>)['00081115']?.Value ?? [];
    expect(series.map((item) => Object.keys(item as object))).not.toContainEqual(expect.arrayContaining(['00081190']));
  });

  it.each([
    ['a number that is not a number', { '00101010': { vr: 'AS', Value: ['045Y'] }, '00101020': { vr: 'DS', Value: ['tall'] } }],
    ['an empty value among values', { '00100020': { vr: 'LO', Value: [null] } }],
    ['binary and AT values', { '00100024': { vr: 'SQ', Value: [{ '00400032': { vr: 'OB', Value: [] }, '00209165': { vr: 'AT', Value: ['00100010'] } }] } }],
  ])('with %s in the study attributes, still writes a valid manifest', async (_situation, odd) => {
    const strange = await written(manifest({ study: { ...study, ...(odd as DicomJson) } }));
    const dump = await runTool('dsrdump', ['-Ee', strange]);
    expect(problems(dump.output)).toEqual([]);
    expect(dump.code).toBe(0);
  });

  it('writes an ACR-NEMA study date and time (1997.04.24, 14:04:38: pydicom\'s ExplVR_BigEnd) as the standard writes them today', async () => {
    const legacy = await written(manifest({ study: { ...study, '00080020': { vr: 'DA', Value: ['1997.04.24'] }, '00080030': { vr: 'TM', Value: ['14:04:38'] } } }));
    const dump = await runTool('dsrdump', ['-Ee', legacy]);
    expect(problems(dump.output)).toEqual([]);
    expect(runPydicom<{ date: string; time: string }>(`import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps({'date': ds.StudyDate, 'time': ds.StudyTime}))`, [legacy])).toEqual({ date: '19970424', time: '140438' });
  });

  it('copies values longer than their VR allows as they came, rather than failing the manifest (dcmjs refuses a CS over 16)', async () => {
    const [id, sex] = ['P'.repeat(70), 'NOT-A-SEX-VALUE-17'];
    const file = await written(manifest({ study: { ...study, '00100020': { vr: 'LO', Value: [id] }, '00100040': { vr: 'CS', Value: [sex] } } }));
    const read = runPydicom<{ id: string; sex: string }>(`import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps({'id': ds.PatientID, 'sex': ds.PatientSex}))`, [file]);
    expect(read).toEqual({ id, sex });
  });

  it('of a study of 20,000 instances, references each one in both places, in order (as pydicom reads it)', async () => {
    const instances = Array.from({ length: 20_000 }, (_, i) => ({ sopInstanceUid: `1.2.3.9.${i + 1}`, sopClassUid: CT }));
    const large = await written(manifest({ series: [{ seriesInstanceUid: '1.2.3.9', instances }] }));
    const read = runPydicom<{ evidence: string[]; content: string[] }>(
      `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps({
  'evidence': [r.ReferencedSOPInstanceUID for r in ds.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence],
  'content': [c.ReferencedSOPSequence[0].ReferencedSOPInstanceUID for c in ds.ContentSequence if 'ReferencedSOPSequence' in c],
}))
`,
      [large],
    );
    const uids = instances.map((instance) => instance.sopInstanceUid);
    expect(read.evidence).toEqual(uids);
    expect(read.content).toEqual(uids);
  }, 60_000);

  it('fails with a ManifestBuildError, not an I/O error, when dcmjs cannot encode the attributes', () => {
    const unwritable = { ...study, '00100010': { vr: 'PN', Value: [{ Alphabetic: 1 as unknown as string }] }, '00080050': { vr: 'ZZ', Value: ['x'] } };
    expect(() => writeKos(manifest({ study: unwritable }))).toThrow(ManifestBuildError);
  });
});

describe('referenceValueType', () => {
  it.each([
    [CT, 'IMAGE'],
    [MR, 'IMAGE'],
    [ENHANCED_CT, 'IMAGE'],
    [SEGMENTATION, 'IMAGE'],
    [RT_DOSE, 'COMPOSITE'],
    [ECG, 'WAVEFORM'],
    [RDSR, 'COMPOSITE'],
    [KOS, 'COMPOSITE'],
    [GSPS, 'COMPOSITE'],
    [PDF, 'COMPOSITE'],
    [RT_PLAN, 'COMPOSITE'],
    ['1.2.840.10008.5.1.4.1.1.66', 'COMPOSITE'],
    [PRIVATE, 'COMPOSITE'],
  ])('%s is referenced as %s', (sopClass, type) => {
    expect(referenceValueType(sopClass)).toBe(type);
  });

  it('agrees with DCMTK for every image class it names (dsrdump flags IMAGE items naming a non-image class)', async () => {
    const images = [CT, MR, ENHANCED_CT, SEGMENTATION, RT_DOSE, RT_PLAN].map((sopClassUid, index) => ({ sopInstanceUid: `1.2.3.7.${index + 1}`, sopClassUid }));
    const file = await written(manifest({ series: [{ seriesInstanceUid: '1.2.3.7', instances: images }] }));
    const dump = await runTool('dsrdump', ['-Ee', file]);
    expect(problems(dump.output)).toEqual([]);
  });
});

describe('dicomDateTime', () => {
  it.each([
    ['+0100', ['20240105', '130000.250']],
    ['-0500', ['20240105', '070000.250']],
    ['+1400', ['20240106', '020000.250']],
  ])('gives DA and TM in the offset %s', (offset, expected) => {
    const { date, time } = dicomDateTime(new Date('2024-01-05T12:00:00.250Z'), offset);
    expect([date, time]).toEqual(expected);
  });
});
