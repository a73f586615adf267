import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { CLINICAL_TYPES, type DiscoveryDocument } from '@imaging-facade/access';

/**
 * What the gateway tells clients about itself: the FHIR server's CapabilityStatement cut down to
 * what the gateway serves, with SMART on FHIR security; and SMART's `.well-known/smart-configuration`.
 * Pure functions.
 */

/**
 * Argonaut's SMART Imaging Access (0.1.0): the gateway serves ImagingStudy with WADO-RS Endpoints that
 * take the same token, so it instantiates the guide's server capability and says so in its SMART
 * configuration.
 */
export const SMART_IMAGING_SERVER = 'http://fhir.org/argonaut/smart-imaging/CapabilityStatement/smart-imaging-server';
export const SMART_IMAGING_CAPABILITY = 'smart-imaging-access';

type Interaction = NonNullable<CapabilityStatementRestResource['interaction']>[number]['code'];

const INTERACTIONS: Readonly<Record<string, readonly Interaction[]>> = {
  ...Object.fromEntries([...CLINICAL_TYPES].map((type) => [type, ['read', 'search-type'] as const])),
  AuditEvent: ['read', 'search-type'],
  Subscription: ['read', 'create', 'delete', 'search-type'],
};

export function gatewayCapabilityStatement(upstream: CapabilityStatement, publicBaseUrl: string, discovery: DiscoveryDocument | undefined): CapabilityStatement {
  const rest = (upstream.rest ?? []).filter((entry) => entry.mode === 'server').slice(0, 1);
  const oauthUris = [
    discovery?.authorization_endpoint ? { url: 'authorize', valueUri: discovery.authorization_endpoint } : undefined,
    discovery?.token_endpoint ? { url: 'token', valueUri: discovery.token_endpoint } : undefined,
    discovery?.revocation_endpoint ? { url: 'revoke', valueUri: discovery.revocation_endpoint } : undefined,
    discovery?.introspection_endpoint ? { url: 'introspect', valueUri: discovery.introspection_endpoint } : undefined,
  ].filter((extension) => extension !== undefined);
  const { id: _id, meta: _meta, text: _text, patchFormat: _patch, implementationGuide: _guides, ...kept } = upstream;
  return {
    ...kept,
    resourceType: 'CapabilityStatement',
    status: 'active',
    kind: 'instance',
    date: upstream.date ?? new Date().toISOString(),
    instantiates: [SMART_IMAGING_SERVER],
    implementation: { description: 'Imaging Facade FHIR gateway', url: publicBaseUrl },
    format: ['json'],
    rest: rest.map((entry) => ({
      mode: 'server',
      security: {
        cors: true,
        service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }] }],
        description: 'OAuth2 bearer tokens (JWT) with SMART on FHIR v2 scopes; see .well-known/smart-configuration',
        ...(oauthUris.length > 0 ? { extension: [{ url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris', extension: oauthUris }] } : {}),
      },
      resource: (entry.resource ?? [])
        .filter((resource) => resource.type in INTERACTIONS)
        .map((resource) => {
          const { operation: _operation, conditionalCreate: _cc, conditionalUpdate: _cu, conditionalDelete: _cd, updateCreate: _uc, ...rest } = resource;
          return { ...rest, interaction: (INTERACTIONS[resource.type] ?? []).map((code) => ({ code })) };
        }),
    })),
  };
}

/** SMART App Launch 2.x discovery (`[base]/.well-known/smart-configuration`), from the issuer's OIDC discovery. */
export function smartConfiguration(discovery: DiscoveryDocument): Record<string, unknown> {
  // What the gateway itself does with a token; what the provider offers besides (launch modes,
  // client authentication) is the provider's to announce.
  const capabilities = ['permission-v1', 'permission-v2', 'permission-patient', 'permission-user', 'context-standalone-patient', SMART_IMAGING_CAPABILITY];
  if (discovery.authorization_endpoint) {
    capabilities.push('launch-standalone', 'client-public');
  }
  const document: Record<string, unknown> = {
    issuer: discovery.issuer,
    jwks_uri: discovery.jwks_uri,
    token_endpoint: discovery.token_endpoint,
    grant_types_supported: discovery.grant_types_supported ?? ['authorization_code', 'client_credentials'],
    token_endpoint_auth_methods_supported: discovery.token_endpoint_auth_methods_supported,
    scopes_supported: discovery.scopes_supported,
    code_challenge_methods_supported: discovery.code_challenge_methods_supported ?? ['S256'],
    capabilities,
  };
  if (discovery.authorization_endpoint) {
    document.authorization_endpoint = discovery.authorization_endpoint;
  }
  if (discovery.introspection_endpoint) {
    document.introspection_endpoint = discovery.introspection_endpoint;
  }
  if (discovery.revocation_endpoint) {
    document.revocation_endpoint = discovery.revocation_endpoint;
  }
  return Object.fromEntries(Object.entries(document).filter(([, value]) => value !== undefined));
}
