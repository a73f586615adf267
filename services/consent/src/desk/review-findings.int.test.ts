import { uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { hashPassword } from '../auth/accounts';
import { api, basic, pageSignIn, startDesk, type RunningDesk } from '../test-support/desk';

const SYSTEM = 'urn:oid:1.2.250.1.71.4.2.7';

/** What a security review of the desk found (2026-12-06), each as an outside client would see it. */
describe('the desk after its security review', () => {
  let desk: RunningDesk;

  beforeAll(async () => {
    desk = await startDesk({
      KAFKA_TOPIC_PREFIX: uniquePrefix(),
      // A hashed account: its check takes a pool thread for tens of milliseconds, as in production.
      CONSENT_DESK_ACCOUNTS: `desk:desk,sec:${await hashPassword('right-horse-battery')},honest:${await hashPassword('honest-horse-battery')}`,
      CONSENT_MAX_FAILED_SIGN_INS_PER_ACCOUNT: '3',
      CONSENT_MAX_FAILED_SIGN_INS_PER_CLIENT: '50',
      CONSENT_TRUST_PROXY: 'loopback',
    });
  });

  afterAll(async () => {
    await desk?.stop();
  });

  test('wrong passwords sent all at once are checked no more often than the account may fail', async () => {
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('sec', `wrong-${i}`))),
    );
    const statuses = burst.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 401)).toHaveLength(3);
    expect(statuses.filter((status) => status === 429)).toHaveLength(17);
    expect((await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('sec', 'right-horse-battery'))).status).toBe(429);
  });

  test('correct credentials sent all at once (an EHR\'s parallel calls) all pass: they share one check', async () => {
    const burst = await Promise.all(
      Array.from({ length: 12 }, () => api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('honest', 'honest-horse-battery'))),
    );
    expect(burst.map((answer) => answer.status)).toEqual(Array.from({ length: 12 }, () => 200));
  });

  test('a name is searched as a name: a comma does not make it a list of names (which, with a birth date, listed that day\'s patients)', async () => {
    const family = `Zz${testUid().slice(-8)}`;
    const written = await fetch(`${process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir'}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: SYSTEM, value: `IPP-${testUid().slice(-10)}` }], name: [{ family }], birthDate: '1961-02-03' }),
    });
    expect(written.status).toBe(201);
    const byName = await api(desk, 'GET', `/api/patients?name=${family}&birthdate=1961-02-03`);
    expect(byName.body.patients).toHaveLength(1);
    const listed = await api(desk, 'GET', `/api/patients?name=${encodeURIComponent(`qq,${family}`)}&birthdate=1961-02-03`);
    expect([listed.status, listed.body.patients]).toEqual([200, []]);
  });

  test('the API\'s answers are never cached; each search is audited with whom it showed, each failed sign-in with the account tried and the client', async () => {
    const family = `Yy${testUid().slice(-8)}`;
    const identifier = { system: SYSTEM, value: `IPP-${testUid().slice(-10)}` };
    await fetch(`${process.env.FHIR_BASE_URL ?? 'http://localhost:8080/fhir'}/Patient`, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', identifier: [identifier], name: [{ family }], birthDate: '1970-01-01' }),
    });
    const search = await api(desk, 'GET', `/api/patients?name=${family}&birthdate=1970-01-01`);
    expect(search.headers.get('cache-control')).toBe('no-store');
    await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('somebody', 'wrong'));
    const audits = desk.logs.map((line) => JSON.parse(line)).filter((line) => line.audit === true);
    expect(audits).toContainEqual(
      expect.objectContaining({ user: 'desk', action: 'search-patients-by-name', patients: [desk.pseudonymize(`${identifier.system}|${identifier.value}`)] }),
    );
    // A name that is no account (perhaps a password typed in the wrong field) is not written down.
    expect(audits).toContainEqual(expect.objectContaining({ user: null, attemptedUser: '(no such account)', client: '127.0.0.1', status: 401 }));
    await api(desk, 'GET', '/api/patients?identifier=X', undefined, basic('desk', 'wrong'));
    expect(desk.logs.map((line) => JSON.parse(line)).filter((line) => line.audit === true)).toContainEqual(expect.objectContaining({ user: null, attemptedUser: 'desk', status: 401 }));
    expect(desk.logs.join('\n')).not.toContain(family);
  });

  test('a form body the desk refuses gets its own status and a page, never a 500 with a stack', async () => {
    const large = await fetch(`${desk.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user=${'x'.repeat(9000)}` });
    const charset = await fetch(`${desk.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=foo' }, body: 'user=x' });
    for (const [answer, status] of [
      [large, 413],
      [charset, 415],
    ] as const) {
      const body = await answer.text();
      expect([answer.status, body.includes('at ')]).toEqual([status, false]);
      expect(body).toContain('<html');
    }
  });

  test('a sign-in, a sign-out or a decision posted without a form (no body, JSON) is answered as a form that says nothing, never a 500 (second review, 2026-12-07)', async () => {
    const noBody = await fetch(`${desk.url}/login`, { method: 'POST', redirect: 'manual' });
    const asJson = await fetch(`${desk.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/json' }, body: '{"user":"desk"}' });
    const session = await pageSignIn(desk, 'desk', 'desk');
    const decision = await fetch(`${desk.url}/patient/decision`, { method: 'POST', redirect: 'manual', headers: { cookie: session.cookie } });
    const logout = await fetch(`${desk.url}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session.cookie } });
    for (const answer of [noBody, asJson, decision, logout]) {
      expect(answer.status).toBeLessThan(500);
      expect(await answer.text()).not.toContain('TypeError');
    }
    // Without the form's token, a signed-in session decides nothing and stays signed in.
    expect([decision.status, logout.status]).toEqual([403, 403]);
  });

  test('a page reached by a path that starts with two slashes links only to this desk (its language switch was a link to another site)', async () => {
    const answer = await fetch(`${desk.url}//a//attacker.example/x`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `user=${'x'.repeat(9000)}` });
    const page = await answer.text();
    expect(answer.status).toBe(413);
    const links = [...page.matchAll(/href="([^"]+)"/g)].map((match) => match[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(link).not.toMatch(/^\/\/|^[a-z]+:/i);
  });

  test('the API refuses what would be recorded under another key or widened (a third review, 2026-12-07): a value with a space at its end, a study inside the patient, a revocation naming a parameter it does not know; nothing is written', async () => {
    const value = `IPP-${testUid().slice(-10)}`;
    const recorded = await api(desk, 'POST', '/api/decisions', { patient: { system: SYSTEM, value }, decision: 'deny' });
    expect(recorded.status).toBe(201);
    for (const body of [
      { patient: { system: SYSTEM, value: `${value} ` }, decision: 'permit' },
      { patient: { system: SYSTEM, value, study: '1.2.3' }, decision: 'permit' },
    ]) {
      const answer = await api(desk, 'POST', '/api/decisions', body);
      expect(answer.status).toBe(400);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
    const revoke = await api(desk, 'DELETE', `/api/patients/${encodeURIComponent(`${SYSTEM}|${value}`)}/decision?StudyInstanceUID=1.2.3`);
    expect(revoke.status).toBe(400);
    // The refusal recorded first is still the one in force.
    const state = await api(desk, 'GET', `/api/patients/${encodeURIComponent(`${SYSTEM}|${value}`)}/decision`);
    expect(state.status).toBe(200);
    expect(JSON.stringify(state.body)).toContain('deny');
    expect(JSON.stringify(state.body)).not.toContain('permit');
  });

  test('a decision on a study that is not a UID is a 400 page', async () => {
    const session = await pageSignIn(desk, 'desk', 'desk');
    const page = await fetch(`${desk.url}/patient?id=${encodeURIComponent(`${SYSTEM}|IPP-${testUid().slice(-10)}`)}`, { headers: { cookie: session.cookie } });
    const csrf = /name="_csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    const answer = await fetch(`${desk.url}/patient/decision`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
      body: new URLSearchParams({ _csrf: csrf, patient: `${SYSTEM}|IPP-1`, action: 'deny', study: 'not-a-uid' }).toString(),
    });
    expect(answer.status).toBe(400);
  });

  test('behind the trusted proxy, a page served over HTTPS sets Secure cookies', async () => {
    const overHttps = await pageSignIn(desk, 'desk', 'desk', { 'x-forwarded-proto': 'https' });
    expect(overHttps.status).toBe(303);
    expect(overHttps.setCookies.find((cookie) => cookie.startsWith('consent_desk_session='))).toContain('Secure');
    const plain = await pageSignIn(desk, 'desk', 'desk');
    expect(plain.setCookies.find((cookie) => cookie.startsWith('consent_desk_session='))).not.toContain('Secure');
  });
});
