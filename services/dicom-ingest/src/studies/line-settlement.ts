/**
 * Where an index line stands. A line is written while its file is still being written (both
 * durable before the answer, one wait instead of two in a row), so a line can be in the index
 * before its file is durable, or for a file whose write failed:
 * - `in-flight`: its line or its file is still being written; nothing may be published from it yet;
 * - `void`: its file could not be written (the store was refused): it names no instance;
 * - `settled`: both are written (or the line came before this process).
 */
export type LineState = 'settled' | 'in-flight' | 'void';

/**
 * The in-flight and void lines of each study, by spool file (unique per received instance). Kept in
 * memory only: after a crash, StudyIndex.dropUnplaced tells the lines whose file is durable from the
 * others by the file's size and checksum. A void line stays void until a compaction has dropped it
 * from the index (`forgetVoid`).
 */
export class LineSettlement {
  private readonly inFlight = new Map<string, Map<string, Promise<unknown>>>();
  private readonly voided = new Map<string, Set<string>>();

  /** The line naming `spoolPath` was queued; it is settled once both writes are, void if the file's failed. */
  track(studyUid: string, spoolPath: string, line: Promise<unknown>, file: Promise<unknown>): void {
    const lines = this.inFlight.get(studyUid) ?? new Map<string, Promise<unknown>>();
    this.inFlight.set(studyUid, lines);
    const settled = Promise.allSettled([line, file]).then(([, written]) => {
      if (written.status === 'rejected') {
        const voided = this.voided.get(studyUid) ?? new Set<string>();
        voided.add(spoolPath);
        this.voided.set(studyUid, voided);
      }
      lines.delete(spoolPath);
      if (lines.size === 0 && this.inFlight.get(studyUid) === lines) {
        this.inFlight.delete(studyUid);
      }
    });
    lines.set(spoolPath, settled);
  }

  /** A line without a spool file was written before lines could precede their files: settled. */
  stateOf(studyUid: string, spoolPath: string | undefined): LineState {
    if (spoolPath === undefined) {
      return 'settled';
    }
    if (this.inFlight.get(studyUid)?.has(spoolPath) === true) {
      return 'in-flight';
    }
    return this.voided.get(studyUid)?.has(spoolPath) === true ? 'void' : 'settled';
  }

  /** Resolves once every line of the study in flight now has settled; undefined when none is. */
  whenSettled(studyUid: string): Promise<void> | undefined {
    const lines = this.inFlight.get(studyUid);
    if (lines === undefined || lines.size === 0) {
      return undefined;
    }
    return Promise.all(lines.values()).then(() => undefined);
  }

  /** The spool files named by the study's void lines (a copy). */
  voidOf(studyUid: string): Set<string> {
    return new Set(this.voided.get(studyUid));
  }

  /** These void lines were dropped from the index (compaction): they need not be remembered. */
  forgetVoid(studyUid: string, spoolPaths: Iterable<string>): void {
    const voided = this.voided.get(studyUid);
    if (voided === undefined) {
      return;
    }
    for (const spoolPath of spoolPaths) {
      voided.delete(spoolPath);
    }
    if (voided.size === 0) {
      this.voided.delete(studyUid);
    }
  }
}
