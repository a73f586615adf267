import { closeSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InstanceFiles } from './instance-files';
import { closedAfterEach } from '../test-support/closed-after-each';

const STUDY = '1.2.3';
const SERIES = '1.2.3.4';
const SOP = '1.2.3.4.5';

/** Every store a test started: its spool pool (which keeps its files open) is closed after it. */
const closeLater = closedAfterEach((files: InstanceFiles) => files.closeSpool());

async function prepared(): Promise<InstanceFiles> {
  const files = closeLater(new InstanceFiles(await mkdtemp(path.join(tmpdir(), 'deferred-placement-'))));
  await files.prepare();
  await files.startSpool();
  return files;
}

async function spoolFileWith(files: InstanceFiles, text: string): Promise<string> {
  const claimed = files.claimSpoolFile();
  closeSync(await claimed.opened);
  await writeFile(claimed.path, text);
  return claimed.path;
}

function deferred(): { promise: Promise<boolean>; resolve: (placeable?: boolean) => void; reject: (error: Error) => void } {
  let resolve: (placeable?: boolean) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<boolean>((ok, fail) => {
    resolve = (placeable = true) => ok(placeable);
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('InstanceFiles: moves made after the index line (placeWhenRecorded)', () => {
  it('two sends of one instance end with the later one in place, even when the earlier line is recorded last', async () => {
    const files = await prepared();
    const relative = await files.destination(STUDY, SERIES, SOP);
    const earlier = deferred();
    const later = deferred();

    void files.placeWhenRecorded(await spoolFileWith(files, 'first'), relative, earlier.promise);
    void files.placeWhenRecorded(await spoolFileWith(files, 'second'), relative, later.promise);
    later.resolve();
    await new Promise((resolve) => setTimeout(resolve, 20));
    earlier.resolve();
    await files.syncPlaced();

    expect(await readFile(path.join(files.root, relative), 'utf8')).toBe('second');
  });

  it('moves the file when its write is durable even though recording its line failed: the line may be durable all the same', async () => {
    const files = await prepared();
    const relative = await files.destination(STUDY, SERIES, SOP);
    const settled = deferred();

    void files.placeWhenRecorded(await spoolFileWith(files, 'complete'), relative, settled.promise);
    // InstanceStore's verdict once both writes settled: the file is complete, whatever the line's fate.
    settled.resolve(true);
    await files.syncPlaced();

    expect(await readFile(path.join(files.root, relative), 'utf8')).toBe('complete');
  });

  it('never moves a file whose write failed, not even in syncPlaced: the place keeps the earlier copy', async () => {
    const files = await prepared();
    const relative = await files.destination(STUDY, SERIES, SOP);
    void files.placeWhenRecorded(await spoolFileWith(files, 'earlier'), relative, Promise.resolve(true));
    const failed = deferred();

    void files.placeWhenRecorded(await spoolFileWith(files, 'torn'), relative, failed.promise);
    failed.resolve(false);
    await files.syncPlaced();
    await files.syncPlaced();

    expect(await readFile(path.join(files.root, relative), 'utf8')).toBe('earlier');
  });

  it('a move that failed is made again by syncPlaced, which fails as long as the move does', async () => {
    const files = await prepared();
    const relative = await files.destination(STUDY, SERIES, SOP);
    // A directory in the way (run as root, permissions would not stop a rename): EISDIR.
    const inTheWay = path.join(files.root, relative);
    await mkdir(path.join(inTheWay, 'x'), { recursive: true });

    const moved = files.placeWhenRecorded(await spoolFileWith(files, 'kept'), relative, Promise.resolve(true));
    await expect(moved).rejects.toThrow();
    await expect(files.syncPlaced()).rejects.toThrow();
    await rm(inTheWay, { recursive: true });
    await files.syncPlaced();

    expect(await readFile(path.join(files.root, relative), 'utf8')).toBe('kept');
  });

  it('destination makes the series directory, so that the study index can take the line before the file moves', async () => {
    const files = await prepared();

    const relative = await files.destination(STUDY, SERIES, SOP);

    expect(relative).toBe(`${STUDY}/${SERIES}/${SOP}.dcm`);
    expect((await stat(path.join(files.root, STUDY, SERIES))).isDirectory()).toBe(true);
  });
});
