import { LineSettlement, type LineState } from './line-settlement';

const STUDY = '1.2.3';
const OTHER_STUDY = '4.5.6';

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** A write the test settles itself. Its failure is watched from the start, as InstanceStore watches a file's. */
function deferred(): Deferred {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Lets the settlement's own continuations run (it learns of a write's outcome a few microtasks later). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether `promise` has resolved by now. */
async function hasResolved(promise: Promise<unknown>): Promise<boolean> {
  let resolved = false;
  void promise.then(() => {
    resolved = true;
  });
  await settle();
  return resolved;
}

/** whenSettled, for a study that has a line in flight. */
function whenSettled(settlement: LineSettlement, studyUid = STUDY): Promise<void> {
  const settled = settlement.whenSettled(studyUid);
  if (settled === undefined) {
    throw new Error(`no line of ${studyUid} is in flight`);
  }
  return settled;
}

/** A line and its file, both being written, tracked under `spoolPath`. */
function tracked(settlement: LineSettlement, spoolPath: string, studyUid = STUDY): { line: Deferred; file: Deferred } {
  const line = deferred();
  const file = deferred();
  settlement.track(studyUid, spoolPath, line.promise, file.promise);
  return { line, file };
}

describe('LineSettlement', () => {
  it.each<{ line: 'is written' | 'fails'; file: 'is written' | 'fails'; state: LineState }>([
    { line: 'is written', file: 'is written', state: 'settled' },
    { line: 'is written', file: 'fails', state: 'void' },
    // The line may be durable all the same, and it names a complete file: it counts.
    { line: 'fails', file: 'is written', state: 'settled' },
    { line: 'fails', file: 'fails', state: 'void' },
  ])('when its line $line and its file $file, the line is $state', async ({ line, file, state }) => {
    const settlement = new LineSettlement();
    const writes = tracked(settlement, '.spool/a.part');

    for (const [outcome, write] of [
      [line, writes.line],
      [file, writes.file],
    ] as const) {
      if (outcome === 'is written') {
        write.resolve();
      } else {
        write.reject(new Error('EIO: i/o error, write'));
      }
    }
    await settle();

    expect(settlement.stateOf(STUDY, '.spool/a.part')).toBe(state);
  });

  it('a line is in flight until both its line and its file have settled, whichever settles first', async () => {
    const settlement = new LineSettlement();
    const lineFirst = tracked(settlement, '.spool/line-first.part');
    const fileFirst = tracked(settlement, '.spool/file-first.part');

    lineFirst.line.resolve();
    fileFirst.file.resolve();
    await settle();
    expect(settlement.stateOf(STUDY, '.spool/line-first.part')).toBe('in-flight');
    expect(settlement.stateOf(STUDY, '.spool/file-first.part')).toBe('in-flight');

    lineFirst.file.resolve();
    fileFirst.line.resolve();
    await settle();
    expect(settlement.stateOf(STUDY, '.spool/line-first.part')).toBe('settled');
    expect(settlement.stateOf(STUDY, '.spool/file-first.part')).toBe('settled');
  });

  it('lines it never tracked are settled: those of an earlier process, and those written before lines named their spool file', () => {
    const settlement = new LineSettlement();

    expect(settlement.stateOf(STUDY, '.spool/from-before-the-restart.part')).toBe('settled');
    expect(settlement.stateOf(STUDY, undefined)).toBe('settled');
  });

  it('keeps studies apart: a line in flight or void in one study says nothing of the same spool path in another', async () => {
    const settlement = new LineSettlement();
    const inFlight = tracked(settlement, '.spool/a.part', OTHER_STUDY);
    const failed = tracked(settlement, '.spool/b.part', OTHER_STUDY);
    failed.line.resolve();
    failed.file.reject(new Error('ENOSPC: no space left on device, write'));
    await settle();

    expect(settlement.stateOf(STUDY, '.spool/a.part')).toBe('settled');
    expect(settlement.stateOf(STUDY, '.spool/b.part')).toBe('settled');
    expect(settlement.whenSettled(STUDY)).toBeUndefined();
    expect(settlement.voidOf(STUDY).size).toBe(0);
    inFlight.line.resolve();
    inFlight.file.resolve();
  });

  describe('whenSettled', () => {
    it('is undefined for a study with no line in flight, before any and after all have settled', async () => {
      const settlement = new LineSettlement();
      expect(settlement.whenSettled(STUDY)).toBeUndefined();

      const { line, file } = tracked(settlement, '.spool/a.part');
      line.resolve();
      file.resolve();
      await settle();

      expect(settlement.whenSettled(STUDY)).toBeUndefined();
    });

    it('resolves only once every line of the study in flight has settled, a void one included', async () => {
      const settlement = new LineSettlement();
      const first = tracked(settlement, '.spool/a.part');
      const second = tracked(settlement, '.spool/b.part');

      const settled = whenSettled(settlement);
      first.line.resolve();
      first.file.resolve();
      second.line.resolve();
      expect(await hasResolved(settled)).toBe(false);

      second.file.reject(new Error('EIO: i/o error, write'));
      expect(await hasResolved(settled)).toBe(true);
      expect(settlement.stateOf(STUDY, '.spool/b.part')).toBe('void');
    });

    it('does not wait for lines of other studies', async () => {
      const settlement = new LineSettlement();
      const ours = tracked(settlement, '.spool/a.part');
      const theirs = tracked(settlement, '.spool/b.part', OTHER_STUDY);

      const settled = whenSettled(settlement);
      ours.line.resolve();
      ours.file.resolve();

      expect(await hasResolved(settled)).toBe(true);
      expect(settlement.stateOf(OTHER_STUDY, '.spool/b.part')).toBe('in-flight');
      theirs.line.resolve();
      theirs.file.resolve();
    });
  });

  describe('void lines', () => {
    async function withVoidLines(settlement: LineSettlement, ...spoolPaths: string[]): Promise<void> {
      for (const spoolPath of spoolPaths) {
        const { line, file } = tracked(settlement, spoolPath);
        line.resolve();
        file.reject(new Error('EIO: i/o error, write'));
      }
      await settle();
    }

    it('voidOf names the void lines of the study, in a copy a compaction can hold while more lines settle', async () => {
      const settlement = new LineSettlement();
      await withVoidLines(settlement, '.spool/a.part', '.spool/b.part');

      const voided = settlement.voidOf(STUDY);
      voided.clear();

      expect(settlement.voidOf(STUDY)).toEqual(new Set(['.spool/a.part', '.spool/b.part']));
    });

    it('a void line stays void until forgetVoid names it (its compaction dropped it), and only the lines named are forgotten', async () => {
      const settlement = new LineSettlement();
      await withVoidLines(settlement, '.spool/a.part');
      const compacted = settlement.voidOf(STUDY);
      // Void after the compaction read what to drop: still in the index, so still remembered.
      await withVoidLines(settlement, '.spool/b.part');

      settlement.forgetVoid(STUDY, compacted);

      expect(settlement.stateOf(STUDY, '.spool/a.part')).toBe('settled');
      expect(settlement.stateOf(STUDY, '.spool/b.part')).toBe('void');
      expect(settlement.voidOf(STUDY)).toEqual(new Set(['.spool/b.part']));
    });

    it('forgetting the void lines of a study that has none changes nothing', () => {
      const settlement = new LineSettlement();

      settlement.forgetVoid(STUDY, ['.spool/a.part']);

      expect(settlement.voidOf(STUDY).size).toBe(0);
    });
  });
});
