import { Writable } from 'node:stream';
import { createLogger } from './logger';

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, stream };
}

describe('createLogger', () => {
  test.each([
    ['top level', { patientName: 'DOE^JOHN', studyInstanceUid: '1.2.3' }],
    ['one level down', { study: { PatientID: 'PID-12345', studyInstanceUid: '1.2.3' } }],
    ['a birth date', { patient: { birthDate: '1970-01-01' }, studyInstanceUid: '1.2.3' }],
  ])('patient fields that slip into a log call (%s) are censored, business ids are kept', (_where, fields) => {
    const { lines, stream } = capture();
    createLogger('test', 'info', stream).info(fields, 'stored');
    const line = lines.join('');
    expect(line).not.toMatch(/DOE\^JOHN|PID-12345|1970-01-01/);
    expect(line).toContain('[redacted]');
    expect(line).toContain('1.2.3');
  });

  test('each line is JSON with the service name, level label and an ISO time', () => {
    const { lines, stream } = capture();
    createLogger('dicom-ingest', 'info', stream).warn('association rejected');
    const entry = JSON.parse(lines[0]);
    expect(entry).toMatchObject({ service: 'dicom-ingest', level: 'warn', msg: 'association rejected' });
    expect(entry.time).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
});
