/** One open DICOM connection, as the shutdown sees it. */
export interface DicomConnection {
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;
  /** Lets the C-STORE under way (if any) finish and be answered, then aborts the association. */
  abortWhenIdle(): Promise<void>;
}

/** The connections open on the DICOM port, so that a shutdown can drain them. */
export class ConnectionRegistry {
  private readonly open = new Set<DicomConnection>();
  private draining = false;

  add(connection: DicomConnection): void {
    this.open.add(connection);
    void connection.closed.finally(() => this.open.delete(connection));
  }

  get size(): number {
    return this.open.size;
  }

  /** True once a shutdown started: new associations are turned away. */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Gives open associations `graceMs` to end by themselves (a sender finishing its study), then
   * aborts the rest, each after its C-STORE under way is answered. Resolves when all are closed.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const allClosed = (): Promise<unknown> => Promise.all([...this.open].map((connection) => connection.closed));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => {
      timer = setTimeout(() => resolve('grace-over'), graceMs);
    });
    const outcome = await Promise.race([allClosed().then(() => 'closed' as const), graceOver]);
    clearTimeout(timer);
    if (outcome === 'grace-over') {
      await Promise.all([...this.open].map((connection) => connection.abortWhenIdle()));
    }
    await allClosed();
  }
}
