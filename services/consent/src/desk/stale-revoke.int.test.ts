import { uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { api, pageSignIn, startDesk, type RunningDesk } from '../test-support/desk';

const SYSTEM = 'urn:oid:1.2.250.1.71.4.2.7';

describe('a revocation from a page left open does not end a decision recorded since at another desk', () => {
  let desk: RunningDesk;

  beforeAll(async () => {
    desk = await startDesk({ KAFKA_TOPIC_PREFIX: uniquePrefix() });
  });

  afterAll(async () => {
    await desk?.stop();
  });

  const newPatient = () => ({ system: SYSTEM, value: `IPP-${testUid().slice(-10)}` });
  const path = (patient: { system: string; value: string }) => `/api/patients/${encodeURIComponent(`${patient.system}|${patient.value}`)}/decision`;

  test('the page: its Revoke carries the decision it showed; after another desk refused, it is a 409 showing the refusal, and nothing is revoked', async () => {
    const patient = newPatient();
    expect((await api(desk, 'POST', '/api/decisions', { patient, decision: 'permit' })).status).toBe(201);
    const session = await pageSignIn(desk, 'desk', 'desk');
    const shown = await (await fetch(`${desk.url}/patient?id=${encodeURIComponent(`${patient.system}|${patient.value}`)}`, { headers: { cookie: session.cookie } })).text();
    const revokeForm = /<form[^>]*>(?:(?!<\/form>)[\s\S])*name="action" value="revoke"(?:(?!<\/form>)[\s\S])*<\/form>/.exec(shown)?.[0] ?? '';
    const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(revokeForm)?.[1] ?? new RegExp(`name="${name}" value="([^"]*)"`).exec(shown)?.[1] ?? '';

    // Meanwhile, another desk records a refusal.
    const refusal = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });
    expect(refusal.status).toBe(201);

    const answer = await fetch(`${desk.url}/patient/decision`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: session.cookie },
      body: new URLSearchParams({ _csrf: field('_csrf'), patient: field('patient'), action: 'revoke', consent: field('consent') }).toString(),
    });
    expect(answer.status).toBe(409);
    const page = await answer.text();
    // In the desk's default language, French.
    expect(page).toMatch(/<p class="alert" role="alert" id="changed-meanwhile">Rien n’a été annulé : une autre décision a été enregistrée depuis/);
    expect(page).toContain('Refuse le partage de tous les examens');
    const now = await api(desk, 'GET', path(patient));
    expect(now.body.patientDecision).toMatchObject({ provision: 'deny', consentId: refusal.body.consentId });
  });

  test('the API: DELETE with the consent read is a 409 once another decision is in force, and revokes when it is the one in force', async () => {
    const patient = newPatient();
    const first = await api(desk, 'POST', '/api/decisions', { patient, decision: 'permit' });
    const second = await api(desk, 'POST', '/api/decisions', { patient, decision: 'deny' });

    const stale = await api(desk, 'DELETE', `${path(patient)}?consent=${first.body.consentId}`);
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'conflict' }] });
    expect(stale.body.issue[0].diagnostics).toMatch(/no longer the one to revoke/);
    expect((await api(desk, 'GET', path(patient))).body.patientDecision).toMatchObject({ provision: 'deny' });

    expect((await api(desk, 'DELETE', `${path(patient)}?consent=not%20an%20id`)).status).toBe(400);
    const current = await api(desk, 'DELETE', `${path(patient)}?consent=${second.body.consentId}`);
    expect(current.status).toBe(200);
    expect(current.body.inactivated).toEqual([second.body.consentId]);
  });
});
