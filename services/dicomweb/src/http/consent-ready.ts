import type { Response } from 'express';
import { OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { CatchingUp } from '@imaging-facade/service-kit';

/**
 * No patient data or image before the consent decisions are read to the end, nor while the view
 * does not follow its topic (its reader stopped and is being started again): a 503 with
 * `Retry-After`, rather than an answer a refusal should have hidden. As at the FHIR gateway (its
 * `consent-ready` middleware); `/readyz` says the same (`caughtUp('consent', …)`).
 */
export const CONSENT_RETRY_AFTER_SECONDS = 5;

export const CONSENT_NOT_READY = 'Consent decisions are not loaded yet; try again shortly';

export const INDEX_NOT_READY = 'The index is being rebuilt from the study topic; try again shortly';

/** The same while a rebuilt index reads the study topic again: lists would miss studies. */
export function requireIndexReady(index: Pick<CatchingUp, 'isReady'>, res: Response): void {
  if (index.isReady()) {
    return;
  }
  res.set('retry-after', String(CONSENT_RETRY_AFTER_SECONDS));
  throw new OutcomeError({
    status: 503,
    outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: INDEX_NOT_READY }] },
  });
}

/** Throws a 503 OutcomeError (each face answers it in its own error format) when the view is not ready. */
export function requireConsentReady(view: Pick<CatchingUp, 'isReady'>, res: Response): void {
  if (view.isReady()) {
    return;
  }
  res.set('retry-after', String(CONSENT_RETRY_AFTER_SECONDS));
  throw new OutcomeError({
    status: 503,
    outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'transient', diagnostics: CONSENT_NOT_READY }] },
  });
}
