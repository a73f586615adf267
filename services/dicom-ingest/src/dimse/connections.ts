/** One open DICOM connection, as the shutdown and the association limits see it. */
export interface DicomConnection {
  /** The peer's address, for the per-host limit. */
  readonly remoteAddress: string | undefined;
  /** Resolves once the socket is closed. */
  readonly closed: Promise<void>;
  /** Lets the C-STORE under way (if any) finish and be answered, then aborts the association. */
  abortWhenIdle(): Promise<void>;
}

export interface AssociationLimits {
  /** DICOM_MAX_ASSOCIATIONS. */
  total: number;
  /** DICOM_MAX_ASSOCIATIONS_PER_HOST; undefined: no limit per host. */
  perHost: number | undefined;
}

/** The connections open on the DICOM port, so that a shutdown can drain them. */
export class ConnectionRegistry {
  private readonly open = new Set<DicomConnection>();
  /** The connections whose association we accepted: what DICOM_MAX_ASSOCIATIONS counts. */
  private readonly associated = new Set<DicomConnection>();
  private draining = false;

  add(connection: DicomConnection): void {
    this.open.add(connection);
    void connection.closed.finally(() => {
      this.open.delete(connection);
      this.associated.delete(connection);
    });
  }

  /**
   * Counts an open connection as an association, if fewer than `limits.total` are open, and fewer
   * than `limits.perHost` from its peer's address when that is set; false when a limit is reached.
   */
  tryAssociate(connection: DicomConnection, limits: AssociationLimits): boolean {
    if (!this.open.has(connection) || this.associated.size >= limits.total) {
      return false;
    }
    if (limits.perHost !== undefined && this.associationsFrom(connection.remoteAddress) >= limits.perHost) {
      return false;
    }
    this.associated.add(connection);
    return true;
  }

  private associationsFrom(address: string | undefined): number {
    let count = 0;
    for (const other of this.associated) {
      if (other.remoteAddress === address) count++;
    }
    return count;
  }

  get size(): number {
    return this.open.size;
  }

  get associationCount(): number {
    return this.associated.size;
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
