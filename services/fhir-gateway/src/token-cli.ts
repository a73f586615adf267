#!/usr/bin/env node
/**
 * `npm run token -- --scope "<scopes>" [--patient <Patient id>]`: asks the development issuer of
 * a local gateway for a token and prints the token alone on stdout (errors go to stderr, exit 1).
 *
 *   --scope      space-separated SMART scopes, e.g. "user/ImagingStudy.rs user/Patient.rs"
 *   --patient    the Patient id of the launch context (for patient/ scopes)
 *   --client-id  the client the token is issued to (default dev-client)
 *   --sub        the subject (default dev-user for user/ scopes, else the client id)
 *   --alg        RS256 (default) or ES256
 *   --issuer     the issuer (default $FACADE_GATEWAY_URL or http://localhost:8000, plus /oidc)
 */

interface Options {
  scope?: string;
  patient?: string;
  clientId?: string;
  sub?: string;
  alg?: string;
  issuer: string;
}

const USAGE = 'usage: npm run token -- --scope "<scopes>" [--patient <Patient id>] [--client-id <id>] [--sub <subject>] [--alg RS256|ES256] [--issuer <url>]';

export function parseArguments(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Options {
  const options: Options = { issuer: `${(env.FACADE_GATEWAY_URL ?? 'http://localhost:8000').replace(/\/+$/, '')}/oidc` };
  const names: Record<string, keyof Options> = {
    '--scope': 'scope',
    '--patient': 'patient',
    '--client-id': 'clientId',
    '--sub': 'sub',
    '--alg': 'alg',
    '--issuer': 'issuer',
  };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    const [flag, inline] = argument.includes('=') ? [argument.slice(0, argument.indexOf('=')), argument.slice(argument.indexOf('=') + 1)] : [argument, undefined];
    const name = names[flag];
    if (!name) {
      throw new Error(`unknown argument ${argument}\n${USAGE}`);
    }
    const value = inline ?? argv[++index];
    if (value === undefined) {
      throw new Error(`${flag} needs a value\n${USAGE}`);
    }
    options[name] = value;
  }
  if (!options.scope?.trim()) {
    throw new Error(`--scope is required\n${USAGE}`);
  }
  return options;
}

export async function requestToken(options: Options): Promise<string> {
  const discovery = await fetch(`${options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (!discovery.ok) {
    throw new Error(`the development issuer at ${options.issuer} answered HTTP ${discovery.status} (is the gateway running with DEV_ISSUER_ENABLED=true?)`);
  }
  const { token_endpoint: tokenEndpoint } = (await discovery.json()) as { token_endpoint?: string };
  if (!tokenEndpoint) {
    throw new Error('the issuer has no token endpoint');
  }
  const form = new URLSearchParams({ grant_type: 'client_credentials', scope: options.scope ?? '' });
  for (const [name, value] of [
    ['patient', options.patient],
    ['client_id', options.clientId],
    ['sub', options.sub],
    ['alg', options.alg],
  ] as const) {
    if (value !== undefined) {
      form.set(name, value);
    }
  }
  const response = await fetch(tokenEndpoint, { method: 'POST', body: form });
  const body = (await response.json().catch(() => ({}))) as { access_token?: string; issue?: Array<{ diagnostics?: string }> };
  if (!response.ok || !body.access_token) {
    throw new Error(`no token: HTTP ${response.status}${body.issue?.[0]?.diagnostics ? `: ${body.issue[0].diagnostics}` : ''}`);
  }
  return body.access_token;
}

if (require.main === module) {
  void (async () => {
    try {
      const token = await requestToken(parseArguments(process.argv.slice(2)));
      process.stdout.write(`${token}\n`);
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  })();
}
