import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { studyCompletedV1DataSchema, type StudyCompletedV1Data } from '@imaging-facade/events';
import { readInstanceHeader } from '../storage/header-reader';
import { silenceDcmjs } from '@imaging-facade/dicom';
import { buildSnapshot } from './study-snapshot';
import { part10Layout, runPydicom, sample as testFile } from '../../../../test/support/sample-files';

/**
 * The study snapshots our ingest makes of real DICOM files (Debian's pydicom test and character set
 * files), each with what pydicom, an independent reader, sees in the file. imaging-mapper's tests
 * map these snapshots and check the FHIR resources against pydicom's values, without importing
 * this service. This test keeps the committed fixture in step with the ingest:
 * `UPDATE_FIXTURES=1 npx jest --selectProjects unit -- services/dicom-ingest/src/real-dicom-files` rewrites it.
 */
const FIXTURE = path.join(__dirname, '..', '..', '..', 'imaging-mapper', 'src', 'test-support', 'real-dicom-files.json');

const REAL_FILES = [
  'CT_small.dcm',
  'MR_small.dcm',
  'JPEG-lossy.dcm',
  'J2K_pixelrep_mismatch.dcm',
  'liver_1frame.dcm',
  'reportsi.dcm',
  'test-SR.dcm',
  'rtdose.dcm',
  'rtplan.dcm',
  'waveform_ecg.dcm',
  'SC_rgb_small_odd.dcm',
  'chrArab.dcm',
  'chrFren.dcm',
  'chrFrenMulti.dcm',
  'chrGerm.dcm',
  'chrGreek.dcm',
  'chrH31.dcm',
  'chrH32.dcm',
  'chrHbrw.dcm',
  'chrI2.dcm',
  'chrJapMulti.dcm',
  'chrJapMultiExplicitIR6.dcm',
  'chrKoreanMulti.dcm',
  'chrRuss.dcm',
  'chrX1.dcm',
  'chrX2.dcm',
];

/** pydicom's view: raw DICOM values (decoded text), person names split into groups and components. */
const PYDICOM_VIEW = `
import json, sys, warnings, pydicom
from pydicom.valuerep import PersonName
warnings.simplefilter('ignore')
def text(ds, keyword):
    value = ds.get(keyword)
    if value is None or isinstance(value, pydicom.multival.MultiValue) and len(value) == 0:
        return None
    value = str(value[0] if isinstance(value, pydicom.multival.MultiValue) else value).strip()
    return value or None
def number(ds, keyword):
    value = ds.get(keyword)
    return None if value in (None, '') else int(value)
def groups(pn):
    out = []
    for group in pn.components:
        name = PersonName(group)
        out.append({'family': name.family_name, 'given': name.given_name, 'middle': name.middle_name,
                    'prefix': name.name_prefix, 'suffix': name.name_suffix})
    return out
def names(ds, keyword):
    value = ds.get(keyword)
    if value in (None, ''):
        return []
    values = value if isinstance(value, pydicom.multival.MultiValue) else [value]
    return [groups(v) for v in values if str(v).strip('^= ')]
out = {}
for f in sys.argv[1:]:
    ds = pydicom.dcmread(f, stop_before_pixels=True)
    concept = ds.get('ConceptNameCodeSequence')
    out[f] = {
        'patient': {
            'id': text(ds, 'PatientID'), 'issuer': text(ds, 'IssuerOfPatientID'),
            'name': (names(ds, 'PatientName') or [None])[0],
            'birthDate': text(ds, 'PatientBirthDate'), 'sex': text(ds, 'PatientSex'),
            'otherIds': [{'id': text(item, 'PatientID'), 'issuer': text(item, 'IssuerOfPatientID')}
                         for item in ds.get('OtherPatientIDsSequence', [])],
        },
        'study': {
            'uid': ds.StudyInstanceUID, 'date': text(ds, 'StudyDate'), 'time': text(ds, 'StudyTime'),
            'offset': text(ds, 'TimezoneOffsetFromUTC'), 'accession': text(ds, 'AccessionNumber'),
            'referrer': (names(ds, 'ReferringPhysicianName') or [None])[0],
            'readers': names(ds, 'NameOfPhysiciansReadingStudy'),
            'description': text(ds, 'StudyDescription'), 'department': text(ds, 'InstitutionalDepartmentName'),
        },
        'series': {
            'uid': ds.SeriesInstanceUID, 'number': number(ds, 'SeriesNumber'), 'modality': text(ds, 'Modality'),
            'description': text(ds, 'SeriesDescription'), 'bodyPart': text(ds, 'BodyPartExamined'),
            'laterality': text(ds, 'Laterality'), 'date': text(ds, 'SeriesDate'), 'time': text(ds, 'SeriesTime'),
            'institution': text(ds, 'InstitutionName'), 'station': text(ds, 'StationName'),
            'performers': names(ds, 'PerformingPhysicianName'), 'operators': names(ds, 'OperatorsName'),
        },
        'instance': {
            'uid': ds.SOPInstanceUID, 'sopClassUid': ds.SOPClassUID, 'number': number(ds, 'InstanceNumber'),
            'documentTitle': text(ds, 'DocumentTitle'),
            'conceptName': text(concept[0], 'CodeMeaning') if concept else None,
            'completionFlag': text(ds, 'CompletionFlag'),
            'verificationFlag': text(ds, 'VerificationFlag'),
        },
    }
print(json.dumps(out))
`;

interface RealFileFixture {
  file: string;
  /** The study-completed snapshot of the study made of this one instance, as the ingest makes it. */
  snapshot: StudyCompletedV1Data;
  pydicom: unknown;
}

async function snapshotOf(file: string): Promise<StudyCompletedV1Data> {
  const source = testFile(file);
  const layout = part10Layout(source);
  const header = await readInstanceHeader(
    { path: source, datasetOffset: layout.datasetOffset, fileSize: readFileSync(source).length },
    layout.transferSyntaxUid,
  );
  const snapshot = buildSnapshot(header.studyInstanceUid!, [
    {
      sopInstanceUid: header.sopInstanceUid!,
      seriesInstanceUid: header.seriesInstanceUid!,
      sopClassUid: header.sopClassUid!,
      transferSyntaxUid: layout.transferSyntaxUid,
      storagePath: `${header.studyInstanceUid}/${header.seriesInstanceUid}/${header.sopInstanceUid}.dcm`,
      sizeBytes: readFileSync(source).length,
      receivedAt: '2024-01-05T10:15:00.000Z',
      study: header.study,
      series: header.series,
      instance: header.instance,
      ...(header.content ? { content: header.content } : {}),
    },
  ]);
  return studyCompletedV1DataSchema.parse(snapshot);
}

describe('the real DICOM files the mapper tests read', () => {
  beforeAll(() => silenceDcmjs());

  it('are what the ingest makes of them now, with pydicom’s view of each', async () => {
    const pydicom = runPydicom<Record<string, unknown>>(PYDICOM_VIEW, REAL_FILES.map(testFile));
    const current: RealFileFixture[] = [];
    for (const file of REAL_FILES) {
      current.push({ file, snapshot: await snapshotOf(file), pydicom: pydicom[testFile(file)] });
    }
    if (process.env.UPDATE_FIXTURES === '1') {
      writeFileSync(FIXTURE, `${JSON.stringify(current, null, 1)}\n`);
    }
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(current);
  });
});
