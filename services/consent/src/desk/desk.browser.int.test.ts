import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Producer } from 'kafkajs';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { connectedProducer, eventually, sendStudy, testKafka, uniquePrefix } from '@imaging-facade/consent/src/test-support/kafka';
import { studySnapshot, testUid } from '@imaging-facade/consent/src/test-support/snapshots';
import { REPO_ROOT } from '../../../../test/support/service-process';
import { api, startDesk, type RunningDesk } from '../test-support/desk';

const ARTIFACTS = path.join(REPO_ROOT, 'test/artifacts');
const DEFAULT_SYSTEM = 'https://imagingfacade.org/fhir/sid/patient-id';

/** Debian's chromium, headless, no network of its own, a fresh profile (a new temporary user-data-dir). */
async function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    locale: 'fr-FR',
    viewport: { width: 1280, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

describe('the reception-desk page in a real browser', () => {
  let desk: RunningDesk;
  let producer: Producer;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const patientId = `IPP-${testUid().slice(-9)}`;
  const patientKey = `${DEFAULT_SYSTEM}|${patientId}`;
  const mri = studySnapshot({ patientId, patientName: 'DURAND^CAMILLE', birthDate: '19860704', accessionNumber: 'ACC-77', studyDate: '20250310', description: 'IRM CEREBRALE', modalities: ['MR'] });
  const hostile = studySnapshot({ patientId, patientName: 'DURAND^CAMILLE', birthDate: '19860704', studyDate: '20240115', description: '<img src=x onerror=alert(1)>', modalities: ['CR'] });
  const othersStudy = studySnapshot({ patientId: `IPP-${testUid().slice(-9)}`, patientName: 'LEROY^MARC', birthDate: '19500101', studyDate: '20250101', modalities: ['CT'] });

  beforeAll(async () => {
    const prefix = uniquePrefix();
    desk = await startDesk({ KAFKA_TOPIC_PREFIX: prefix });
    producer = await connectedProducer(testKafka());
    await sendStudy(producer, prefix, mri);
    await sendStudy(producer, prefix, hostile);
    await sendStudy(producer, prefix, othersStudy);
    await eventually(async () => {
      const response = await api(desk, 'GET', `/api/patients?identifier=${patientId}`);
      const other = await api(desk, 'GET', `/api/patients?identifier=${othersStudy.study['00100020']!.Value![0]}`);
      return response.body.patients?.[0]?.studies.length === 2 && other.body.patients?.length === 1 ? true : undefined;
    }, 'the studies in the desk catalogue');
    profile = mkdtempSync(path.join(tmpdir(), 'consent-desk-chromium-'));
    context = await launchChromium(profile);
    page = context.pages()[0] ?? (await context.newPage());
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await producer?.disconnect();
    await desk?.stop();
  });

  test('a desk user signs in, finds the patient and records a refusal with the keyboard; the API sees it', async () => {
    await page.goto(`${desk.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.getAttribute('html', 'lang')).toBe('fr');
    // The user name field has the focus: type, Tab, type, Enter.
    await page.keyboard.type('desk');
    await page.keyboard.press('Tab');
    await page.keyboard.type('desk');
    await Promise.all([page.waitForURL(`${desk.url}/`), page.keyboard.press('Enter')]);

    // The identifier field has the focus: type it, Enter; one patient found opens their page.
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('identifier');
    await page.keyboard.type(patientId);
    await Promise.all([page.waitForURL(/\/patient\?id=/), page.keyboard.press('Enter')]);
    await expect(page.textContent('h1')).resolves.toBe('DURAND CAMILLE');
    await expect(page.textContent('#decision-all')).resolves.toContain('Aucune décision enregistrée');

    // A study description is shown as text, never as markup.
    expect(await page.locator('table.studies img').count()).toBe(0);
    await expect(page.locator(`tr[data-study="${hostile.studyInstanceUid}"]`).textContent()).resolves.toContain('<img src=x onerror=alert(1)>');

    // Refuse all studies: the button is reached with the keyboard and pressed with Enter.
    await page.locator('button.deny').first().focus();
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Refuse : ne partager aucun examen');
    await Promise.all([page.waitForURL(/done=deny-all/), page.keyboard.press('Enter')]);
    await expect(page.textContent('[role="status"]')).resolves.toContain('Refus enregistré pour tous les examens.');
    await expect(page.textContent('#decision-all')).resolves.toContain('Refuse le partage de tous les examens');
    await expect(page.locator('td.sharing.withhold').count()).resolves.toBe(2);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'consent-desk.png'), fullPage: true });

    const decision = await api(desk, 'GET', `/api/patients/${encodeURIComponent(patientKey)}/decision`);
    expect(decision.status).toBe(200);
    expect(decision.body.patientDecision).toMatchObject({ scope: 'patient', provision: 'deny', recordedBy: 'desk' });
    expect(decision.body.studies.map((study: { sharing: string }) => study.sharing)).toEqual(['withhold', 'withhold']);
  });

  test('one study is agreed to through its own button; the language switch shows the page in English', async () => {
    await page.goto(`${desk.url}/patient?id=${encodeURIComponent(patientKey)}&lang=en`);
    await expect(page.getAttribute('html', 'lang')).resolves.toBe('en');
    await Promise.all([
      page.waitForURL(/done=permit-study/),
      page.locator(`tr[data-study="${mri.studyInstanceUid}"] button.permit`).click(),
    ]);
    await expect(page.textContent('[role="status"]')).resolves.toContain('Agreement recorded for the study.');
    await expect(page.locator(`tr[data-study="${mri.studyInstanceUid}"] td.sharing`).textContent()).resolves.toBe('Shared');
    await expect(page.locator(`tr[data-study="${hostile.studyInstanceUid}"] td.sharing`).textContent()).resolves.toBe('Withheld');
  });

  test("a study form that names another patient's study (a stale or altered page) records nothing and says why", async () => {
    await page.goto(`${desk.url}/patient?id=${encodeURIComponent(patientKey)}&lang=fr`);
    const form = page.locator(`tr[data-study="${mri.studyInstanceUid}"] form`).first();
    await form.locator('input[name="study"]').evaluate((input, uid) => ((input as HTMLInputElement).value = uid), othersStudy.studyInstanceUid);
    const [answer] = await Promise.all([page.waitForResponse((response) => response.url().endsWith('/patient/decision')), form.locator('button').first().click()]);
    expect(answer.status()).toBe(422);
    await expect(page.textContent('body')).resolves.toContain('Cet examen appartient à un autre patient sur ce site : rien n’a été enregistré.');
    const decision = await api(desk, 'GET', `/api/patients/${encodeURIComponent(patientKey)}/decision`);
    expect(decision.body.decisions.filter((made: { study?: { studyInstanceUid?: string } }) => made.study?.studyInstanceUid === othersStudy.studyInstanceUid)).toEqual([]);
  });

  test('a form post without the session token is refused', async () => {
    const response = await context.request.post(`${desk.url}/patient/decision`, {
      form: { patient: patientKey, action: 'permit' },
    });
    expect(response.status()).toBe(403);
  });

  test('the session cookie is HttpOnly and SameSite=Strict', async () => {
    const session = (await context.cookies()).find((cookie) => cookie.name === 'consent_desk_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });
});
