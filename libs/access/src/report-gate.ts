import { listsValidatedReport, type Upstream } from '@imaging-facade/fhir';
import { badGateway, OutcomeError } from '@imaging-facade/fhir-outcomes';
import type { AnyResource } from './compartment';
import { showsStudyLinks, studyLinksOf } from './consent';
import { onceEach } from './once-each';

/**
 * "GPs see a study once its report is validated": a token granted the node's GP role scope sees a
 * study, and what derives from it (its manifest, its dose), only once the index lists a validated
 * report of it (libs/fhir `listsValidatedReport`). Other tokens are not concerned: the radiology
 * team reads a study before its report exists. Resources tied to no study (a Patient, an Endpoint)
 * are not held back; a patient's cumulative dose is, as it counts every study, reported or not (the
 * total less the reported studies' doses would give the others').
 */
export interface ReportGate {
  /** The role scope of the tokens that wait for the report (FACADE_GP_ROLE_SCOPE); undefined: none wait. */
  roleScope: string | undefined;
  /** Whether ImagingStudy/`id` lists a validated report now (false when it does not exist). */
  studyReported(id: string): Promise<boolean>;
}

/** Whether this token sees studies only once they are reported. */
export function waitsForReport(holder: { grantedScopes?: readonly string[] | undefined }, gate: Pick<ReportGate, 'roleScope'> | undefined): boolean {
  const role = gate?.roleScope;
  return role !== undefined && (holder.grantedScopes ?? []).includes(role);
}

/**
 * For each resource, whether the report rule lets a waiting token see it. An ImagingStudy is
 * judged by what it lists, or looked up when the answer does not show it (a narrowed answer:
 * `_elements`, `_summary`); a resource derived from studies by each of them; a study named by its
 * UID alone cannot be checked and is held back, and so is a derived resource narrowed down to no
 * study link at all (consent.ts `showsStudyLinks`).
 */
export async function reportAllows(resources: readonly AnyResource[], gate: ReportGate): Promise<boolean[]> {
  const reported = onceEach((id) => gate.studyReported(id));
  return Promise.all(
    resources.map(async (resource) => {
      if (resource.resourceType === 'ImagingStudy') {
        return listsValidatedReport(resource as Parameters<typeof listsValidatedReport>[0]) || (resource.id !== undefined && (await reported(resource.id)));
      }
      if (resource.resourceType === 'Observation' && resource.partOf === undefined) {
        // The cumulative dose (derived from the dose summaries, not from one study), or a narrowed answer.
        return false;
      }
      const links = studyLinksOf(resource);
      if (links.keys.length > 0 || !showsStudyLinks(resource)) {
        return false;
      }
      for (const id of links.ids) {
        if (!(await reported(id))) {
          return false;
        }
      }
      return true;
    }),
  );
}

/** The look-up of a study's reports, from the FHIR server each time (a report arriving must show at once). */
export function upstreamStudyReported(upstream: Upstream): (id: string) => Promise<boolean> {
  return async (id) => {
    const response = await upstream.request('GET', `ImagingStudy/${encodeURIComponent(id)}?_elements=series`);
    if (response.status === 404 || response.status === 410) {
      return false;
    }
    if (response.status !== 200) {
      throw new OutcomeError(badGateway(`The FHIR server answered HTTP ${response.status} to a report look-up`));
    }
    return listsValidatedReport(response.body as Parameters<typeof listsValidatedReport>[0]);
  };
}
