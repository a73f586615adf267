import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { parseScopes, type ScopeHolder } from '@imaging-facade/access';

/** A token's scopes (and patient in context) as the policies see them. */
export const holder = (scope: string, patientId?: string): ScopeHolder => ({ scopes: parseScopes(scope), patientId });

/** The HTTP status a policy's refusal would be answered with; undefined when it does not refuse, -1 for any other error. */
export function statusOf(run: () => unknown): number | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return isOutcomeError(error) ? error.status : -1;
  }
}
