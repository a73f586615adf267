import path from 'node:path';
import { REPO_ROOT } from '../../../../test/support/service-process';
import type * as KosThreadModule from './kos-thread';
import { writeKos, type ManifestContent } from './kos-writer';
import { CT, manifest, study } from '../test-support/manifest-content';

// The thread runs the compiled worker, as the service does: this module as built (`npm test` builds first).
const { ManifestThread } = require(path.join(REPO_ROOT, 'services/dicom-ingest/dist/studies/kos-thread.js')) as typeof KosThreadModule;

/** The test manifest, referencing `instances` CT instances in one series. */
function content(instances: number, overrides: Partial<ManifestContent> = {}): ManifestContent {
  return manifest({ series: [{ seriesInstanceUid: '1.2.3.1', instances: Array.from({ length: instances }, (_, i) => ({ sopInstanceUid: `1.2.3.1.${i + 1}`, sopClassUid: CT })) }], ...overrides });
}

describe('ManifestThread (the compiled worker, as the service runs it)', () => {
  let thread: InstanceType<typeof ManifestThread>;
  beforeEach(() => (thread = new ManifestThread()));
  afterEach(() => thread.close());

  it('writes the same bytes as writeKos in this thread, for manifests asked for at once', async () => {
    const asked = [content(1), content(500), content(3)];
    const written = await Promise.all(asked.map((manifest) => thread.write(manifest)));
    written.forEach((bytes, i) => expect(Buffer.compare(bytes, writeKos(asked[i]!))).toBe(0));
  });

  it('leaves this thread running meanwhile: its event loop turns while a 20,000-instance manifest is written', async () => {
    let turns = 0;
    let writing = true;
    const turn = (): void => {
      turns++;
      if (writing) setImmediate(turn);
    };
    setImmediate(turn);
    const bytes = await thread.write(content(20_000));
    writing = false;
    expect(bytes.length).toBeGreaterThan(20_000 * 2 * 100);
    expect(turns).toBeGreaterThan(1);
  });

  it('fails with a ManifestBuildError and its reason when the attributes cannot be encoded, then writes the next', async () => {
    const unwritable = content(2, { study: { ...study, '00080050': { vr: 'ZZ', Value: ['x'] } } });
    const failure: unknown = await thread.write(unwritable).catch((error: unknown) => error);
    let here: unknown;
    try {
      writeKos(unwritable);
    } catch (error) {
      here = error;
    }
    expect(failure).toMatchObject({ name: 'ManifestBuildError', message: (here as Error).message });
    await expect(thread.write(content(2))).resolves.toEqual(writeKos(content(2)));
  });
});
