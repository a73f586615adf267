import { withholdsRecord, type PatientConsentState } from '@imaging-facade/consent';

/** A Patient record of the index, as the check reads it: its identifiers (keys) and whether it has the withheld label. */
export interface RecordSeen {
  keys: string[];
  labelled: boolean;
}

/** A patient whose decisions must be applied again, with what their records link now and what they no longer link. */
export interface RecordChange {
  patientKey: string;
  /** The other identifiers their records hold now (sorted): kept once the decisions are applied. */
  linked: string[];
  /** Identifiers their records held when the decisions were last applied, and hold no more. */
  unlinked: string[];
}

/**
 * Which patients with a decision the index's records changed for since their decisions were
 * applied: an identifier linked or unlinked (`appliedLinks`: what they linked then), or a record
 * whose withheld label is not what the decisions of its identifiers say. Pure.
 */
export function recordChanges(
  decided: ReadonlySet<string>,
  records: readonly RecordSeen[],
  stateOf: (patientKey: string) => PatientConsentState | undefined,
  appliedLinks: (patientKey: string) => readonly string[],
): RecordChange[] {
  const linked = new Map<string, Set<string>>([...decided].map((key) => [key, new Set<string>()]));
  const mislabelled = new Set<string>();
  for (const record of records) {
    const withheld = withholdsRecord(record.keys.map(stateOf));
    for (const key of record.keys.filter((one) => decided.has(one))) {
      for (const other of record.keys) {
        if (other !== key) linked.get(key)?.add(other);
      }
      if (withheld !== record.labelled) mislabelled.add(key);
    }
  }
  const changes: RecordChange[] = [];
  for (const [patientKey, others] of linked) {
    const now = [...others].sort();
    const before = appliedLinks(patientKey);
    if (now.join('\n') !== [...before].sort().join('\n') || mislabelled.has(patientKey)) {
      changes.push({ patientKey, linked: now, unlinked: before.filter((other) => !others.has(other)) });
    }
  }
  return changes;
}
