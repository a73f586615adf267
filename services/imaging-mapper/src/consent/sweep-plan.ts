import { setImmediate as nextTurn } from 'node:timers/promises';
import { decisionsFingerprint, type PatientConsentState, type ReconciledPatients } from '@imaging-facade/consent';

/** The consent view as the plan reads it. */
export interface ConsentStates {
  patients(): Iterable<[string, PatientConsentState]>;
  stateOf(patientKey: string): PatientConsentState | undefined;
}

/** Patients looked at between two turns of the event loop (the mapper takes studies meanwhile). */
const CHUNK = 2_000;

/**
 * The patients whose decisions the index may not reflect: those whose decisions differ from the
 * ones last applied to all their studies, those whose decisions were being applied when the
 * mapper stopped, and those whose decisions are gone since (revoked, or the topic remade).
 * Everyone else's studies already reflect their decisions: each new study is decided on arrival.
 */
export async function patientsWithChangedDecisions(view: ConsentStates, reconciled: ReconciledPatients): Promise<Set<string>> {
  const changed = new Set<string>();
  let seen = 0;
  for (const [patientKey, state] of view.patients()) {
    if (reconciled.fingerprintOf(patientKey) !== decisionsFingerprint(state)) {
      changed.add(patientKey);
    }
    if (++seen % CHUNK === 0) {
      await nextTurn();
    }
  }
  // Rows of patients the view no longer knows (those it knows were compared above, marked ones included).
  for (const row of reconciled.rows(CHUNK)) {
    if (row.fingerprint === null || view.stateOf(row.patientKey) === undefined) {
      changed.add(row.patientKey);
    }
    if (++seen % CHUNK === 0) {
      await nextTurn();
    }
  }
  return changed;
}
