import { ConfigError } from '@imaging-facade/service-kit';
import { loadGatewayConfig } from './config';

describe('loadGatewayConfig', () => {
  test('the local stack: the development issuer on the gateway\'s own origin, audience the public base', () => {
    const config = loadGatewayConfig({ DEV_ISSUER_ENABLED: 'true', FACADE_DATA_DIR: '/data' });
    expect(config.http.port).toBe(8000);
    expect(config.publicBaseUrl).toBe('http://localhost:8000/fhir');
    expect(config.upstream.baseUrl).toBe('http://localhost:8080/fhir');
    expect(config.oidc.issuer).toBe('http://localhost:8000/oidc');
    expect(config.oidc.audience).toBe('http://localhost:8000/fhir');
    expect(config.devIssuer).toMatchObject({ mountPath: '/oidc', keyFile: '/data/fhir-gateway/dev-issuer-keys.json' });
    expect(config.consentPolicy).toBe('opt-out');
    expect(config.consentViewDir).toBe('/data/fhir-gateway/consent-view');
  });

  test('a real provider: its issuer kept exactly (trailing slash included), no development issuer', () => {
    const config = loadGatewayConfig({ OIDC_ISSUER: 'https://tenant.auth.example.com/', OIDC_AUDIENCE: 'api://imaging', GATEWAY_PUBLIC_BASE_URL: 'https://fhir.example.org/r4/' });
    expect(config.oidc.issuer).toBe('https://tenant.auth.example.com/');
    expect(config.oidc.audience).toBe('api://imaging');
    expect(config.publicBaseUrl).toBe('https://fhir.example.org/r4');
    expect(config.devIssuer).toBeUndefined();
  });

  test('subscription endpoints: any in development; outside it, the allowed origins and addresses only', () => {
    expect(loadGatewayConfig({ DEV_ISSUER_ENABLED: 'true' }).subscriptionEndpoints).toEqual({ enforce: false, allowedOrigins: [], allowedAddresses: [] });
    const production = loadGatewayConfig({
      OIDC_ISSUER: 'https://sso.example.org',
      FACADE_ENV: 'production',
      GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS: 'https://hooks.example.org, https://*.partner.example:8443',
      GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES: '10.20.0.0/16',
    }).subscriptionEndpoints;
    expect(production.enforce).toBe(true);
    expect(production.allowedOrigins).toEqual([
      { protocol: 'https:', host: 'hooks.example.org', suffix: false, port: '443' },
      { protocol: 'https:', host: 'partner.example', suffix: true, port: '8443' },
    ]);
    expect(production.allowedAddresses.map(([address, bits]) => `${address.toString()}/${bits}`)).toEqual(['10.20.0.0/16']);
  });

  test.each([
    ['no issuer and no development issuer', {}, 'OIDC_ISSUER'],
    ['the development issuer in production', { DEV_ISSUER_ENABLED: 'true', FACADE_ENV: 'production' }, 'DEV_ISSUER_ENABLED'],
    ['a development issuer inside the FHIR base', { DEV_ISSUER_ENABLED: 'true', OIDC_ISSUER: 'http://localhost:8000/fhir/oidc' }, 'OIDC_ISSUER'],
    ['an issuer that is not a URL', { OIDC_ISSUER: 'keycloak' }, 'OIDC_ISSUER'],
    ['an unknown consent policy', { DEV_ISSUER_ENABLED: 'true', FACADE_CONSENT_POLICY: 'maybe' }, 'FACADE_CONSENT_POLICY'],
    ['an allowed subscription endpoint with a path', { DEV_ISSUER_ENABLED: 'true', GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS: 'https://hooks.example.org/x' }, 'GATEWAY_SUBSCRIPTION_ALLOWED_ENDPOINTS'],
    ['an allowed subscription address that is no CIDR', { DEV_ISSUER_ENABLED: 'true', GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES: '10.0.0.0/40' }, 'GATEWAY_SUBSCRIPTION_ALLOWED_ADDRESSES'],
  ])('fails fast on %s', (_situation, env, variable) => {
    expect(() => loadGatewayConfig(env)).toThrow(ConfigError);
    expect(() => loadGatewayConfig(env)).toThrow(new RegExp(`${variable}:`));
  });
});
