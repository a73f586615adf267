import type { Response } from 'express';
import type { CatchingUp } from '@imaging-facade/service-kit';
import { OutcomeError } from '@imaging-facade/fhir-outcomes';

/**
 * No patient data or image before the consent decisions are read to the end, nor while the view
 * does not follow its topic (its reader stopped and is being started again): a 503 with
 * `Retry-After`, rather than an answer a refusal should have hidden. As at the FHIR gateway (its
 * `consent-ready` middleware); `/readyz` says the same (`caughtUp('consent', …)`). A rebuilt index
 * is held back the same way (`requireIndexReady`).
 */
export const CONSENT_RETRY_AFTER_SECONDS = 5;

export const CONSENT_NOT_READY = 'Consent decisions are not loaded yet; try again shortly';

export const INDEX_NOT_READY = 'The index is being rebuilt from the study topic; try again shortly';

/** Throws a 503 OutcomeError (each face answers it in its own error format) when the view is not ready. */
export function requireConsentReady(view: Pick<CatchingUp, 'isReady'>, res: Response): void {
  requireReady(view, CONSENT_NOT_READY, res);
}

/** The same while a rebuilt index reads the study topic again (index/index-catch-up.ts): its lists would miss studies. */
export function requireIndexReady(index: Pick<CatchingUp, 'isReady'>, res: Response): void {
  requireReady(index, INDEX_NOT_READY, res);
}

function requireReady(reader: Pick<CatchingUp, 'isReady'>, diagnostics: string, res: Response): void {
  if (reader.isReady()) {
    return;
  }
  res.set('retry-after', String(CONSENT_RETRY_AFTER_SECONDS));
  throw new OutcomeError({
    status: 503,
    outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics }] },
  });
}
