import type { ConsentDecision } from '@imaging-facade/events';
import type { PatientConsent, StudyWithConsent } from '../decisions/patient-consent';
import type { PatientSummary } from '../decisions/patients';
import { html, type SafeHtml } from '@imaging-facade/service-kit';
import { formatDate, formatDose, LANGUAGES, messages, type Language, type Messages } from './i18n';

/** What every page needs to know about the request it answers. */
export interface PageContext {
  language: Language;
  /** The current path and query, to switch language in place. */
  path: string;
  user?: string;
  csrfToken?: string;
}

export interface SearchForm {
  identifier?: string;
  name?: string;
  birthdate?: string;
}

/** The patient page's link: the key travels as a query parameter. */
export function patientHref(key: string): string {
  return `/patient?id=${encodeURIComponent(key)}`;
}

function layout(context: PageContext, title: string, body: SafeHtml): string {
  const t = messages(context.language);
  return html`<!doctype html>
<html lang="${context.language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — ${t.title}</title>
<link rel="stylesheet" href="/assets/desk.css">
</head>
<body>
<a class="skip" href="#main">${t.skipToContent}</a>
<header>
  <p class="brand"><strong>${t.title}</strong> · ${t.product}</p>
  <nav aria-label="${t.language}">${languageSwitch(context)}</nav>
  ${context.user
    ? html`<form method="post" action="/logout" class="signout">
    <span>${t.signedInAs} <strong>${context.user}</strong></span>
    <input type="hidden" name="_csrf" value="${context.csrfToken}">
    <button type="submit">${t.signOut}</button>
  </form>`
    : ''}
</header>
<main id="main">
${body}
</main>
<footer><p>${t.accessKeysHint}</p></footer>
</body>
</html>
`.value;
}

function languageSwitch(context: PageContext): SafeHtml[] {
  return LANGUAGES.map((language) => {
    // One leading slash: `//host/…` as a request path would make a link to another site.
    const url = new URL(`/${context.path.replace(/^[/\\]+/, '')}`, 'http://desk.invalid');
    url.searchParams.set('lang', language);
    const label = language === 'fr' ? 'Français' : 'English';
    return language === context.language
      ? html`<span class="lang" aria-current="true">${label}</span>`
      : html`<a class="lang" href="${url.pathname}${url.search}" hreflang="${language}" lang="${language}">${label}</a>`;
  });
}

export type LoginProblem = 'wrong' | 'expired' | 'locked-out';

export function loginPage(context: PageContext, loginToken: string, problem?: LoginProblem, user = ''): string {
  const t = messages(context.language);
  const alert = problem ? html`<p class="alert" role="alert">${problem === 'wrong' ? t.wrongCredentials : problem === 'locked-out' ? t.lockedOut : t.sessionExpired}</p>` : '';
  return layout(
    context,
    t.signIn,
    html`<h1>${t.signInTitle}</h1>
${alert}
<form method="post" action="/login" class="login">
  <input type="hidden" name="_login" value="${loginToken}">
  <label for="user">${t.user}</label>
  <input id="user" name="user" autocomplete="username" required autofocus value="${user}">
  <label for="password">${t.password}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">${t.signIn}</button>
</form>`,
  );
}

export function searchPage(
  context: PageContext,
  form: SearchForm,
  outcome?: { patients: PatientSummary[]; problem?: string; recordFor?: string },
): string {
  const t = messages(context.language);
  const byName = Boolean(form.name || form.birthdate);
  let results: SafeHtml | string = '';
  if (outcome?.problem) {
    results = html`<p class="alert" role="alert">${outcome.problem}</p>`;
  } else if (outcome && outcome.patients.length === 0) {
    results = html`<section aria-labelledby="results"><h2 id="results">${t.results}</h2>
<p role="status">${byName ? t.noResultByName : t.noResult}</p>
${outcome.recordFor
  ? html`<p>${t.recordForIdentifier} <a href="${patientHref(outcome.recordFor)}">${outcome.recordFor}</a></p>`
  : ''}</section>`;
  } else if (outcome) {
    results = html`<section aria-labelledby="results"><h2 id="results">${t.results}</h2>
<table>
<thead><tr><th scope="col">${t.name}</th><th scope="col">${t.birthDate}</th><th scope="col">${t.identifier}</th><th scope="col">${t.studies}</th></tr></thead>
<tbody>${outcome.patients.map(
      (patient) => html`<tr>
  <td><a href="${patientHref(patient.key)}">${patient.name ?? patient.identifier.value}</a></td>
  <td>${formatDate(context.language, patient.birthDate)}</td>
  <td><code>${patient.identifier.value}</code> <small>${patient.identifier.system}</small></td>
  <td>${patient.studies.length}</td>
</tr>`,
    )}</tbody>
</table></section>`;
  }
  return layout(
    context,
    t.findPatient,
    html`<h1>${t.findPatient}</h1>
<form method="get" action="/" role="search" class="search">
  <fieldset>
    <legend>${t.byIdentifier}</legend>
    <label for="identifier">${t.identifier}</label>
    <input id="identifier" name="identifier" accesskey="f" value="${form.identifier ?? ''}" ${byName ? '' : html`autofocus`} aria-describedby="identifier-hint" autocomplete="off" spellcheck="false">
    <small id="identifier-hint">${t.identifierHint}</small>
    <button type="submit">${t.search}</button>
  </fieldset>
</form>
<form method="get" action="/" role="search" class="search">
  <fieldset>
    <legend>${t.byNameAndBirthDate}</legend>
    <label for="name">${t.name}</label>
    <input id="name" name="name" value="${form.name ?? ''}" ${byName ? html`autofocus` : ''} autocomplete="off">
    <label for="birthdate">${t.birthDate}</label>
    <input id="birthdate" name="birthdate" type="date" value="${form.birthdate ?? ''}">
    <button type="submit">${t.search}</button>
  </fieldset>
</form>
${results}`,
  );
}

export function patientPage(context: PageContext, consent: PatientConsent, flash?: { done?: string; notAnnounced?: boolean; failed?: boolean; changedMeanwhile?: boolean; severalPatientRecords?: boolean }): string {
  const t = messages(context.language);
  const label = consent.name ?? consent.patient.value;
  const notices: SafeHtml[] = [];
  if (flash?.done && Object.hasOwn(t.done, flash.done)) {
    notices.push(html`<p class="notice" role="status">${t.done[flash.done]} <a href="/" accesskey="n" autofocus>${t.newSearch}</a></p>`);
  }
  if (flash?.notAnnounced) {
    notices.push(html`<p class="alert" role="alert">${t.notAnnounced}</p>`);
  }
  if (flash?.failed) {
    notices.push(html`<p class="alert" role="alert">${t.failed}</p>`);
  }
  if (flash?.changedMeanwhile) {
    notices.push(html`<p class="alert" role="alert" id="changed-meanwhile">${t.changedMeanwhile}</p>`);
  }
  if (flash?.severalPatientRecords) {
    notices.push(html`<p class="alert" role="alert" id="several-patient-records">${t.severalPatientRecords}</p>`);
  }
  return layout(
    context,
    label,
    html`${notices}
<h1>${label}</h1>
<dl class="identity">
  <dt>${t.identifier}</dt><dd><code>${consent.patient.value}</code> <small>${consent.patient.system}</small></dd>
  ${consent.birthDate ? html`<dt>${t.birthDate}</dt><dd>${formatDate(context.language, consent.birthDate)}</dd>` : ''}
  ${consent.sex ? html`<dt>${t.sex}</dt><dd>${consent.sex}</dd>` : ''}
  <dt>${t.policy}</dt><dd>${consent.policy === 'opt-out' ? t.policyOptOut : t.policyOptIn}</dd>
  ${consent.cumulativeDose && consent.cumulativeDose.length > 0 ? html`<dt>${t.cumulativeDose}</dt><dd><ul class="doses" id="cumulative-dose">${consent.cumulativeDose.map((line) => html`<li>${line.label}: ${formatDose(context.language, line.value)} ${line.unit}</li>`)}</ul></dd>` : ''}
</dl>
<section aria-labelledby="current">
  <h2 id="current">${t.currentDecision} — ${t.allStudies}</h2>
  <p class="decision ${consent.patientDecision?.provision ?? 'none'}" id="decision-all">${decisionText(context, t, consent)}</p>
  <div class="actions">
    ${decisionForm(context, consent.key, 'permit', undefined, t.agreeAll, 'a', 'permit')}
    ${decisionForm(context, consent.key, 'deny', undefined, t.refuseAll, 'r', 'deny')}
    ${consent.patientDecision ? decisionForm(context, consent.key, 'revoke', undefined, t.revokeAll, undefined, 'secondary', undefined, consent.patientDecision.consentId) : ''}
  </div>
</section>
<section aria-labelledby="studies">
  <h2 id="studies">${t.studies}</h2>
  ${consent.studies.length === 0 ? html`<p>${t.noStudy}</p>` : studiesTable(context, t, consent)}
  ${consent.patientDecision?.provision === 'deny' ? html`<p class="hint" id="agreed-study-identity">${t.agreedStudyShowsIdentity}</p>` : ''}
</section>
<p><a href="/" accesskey="n">${t.newSearch}</a></p>`,
  );
}

function decisionText(context: PageContext, t: Messages, consent: PatientConsent): string {
  const decision = consent.patientDecision;
  if (!decision) {
    return consent.policy === 'opt-out' ? t.noDecisionOptOut : t.noDecisionOptIn;
  }
  return `${decision.provision === 'permit' ? t.agreedAll : t.refusedAll} (${recorded(context, t, decision)})`;
}

function recorded(context: PageContext, t: Messages, decision: ConsentDecision): string {
  return t.recordedOnBy(formatDate(context.language, decision.recordedAt, true), decision.recordedBy);
}

function studiesTable(context: PageContext, t: Messages, consent: PatientConsent): SafeHtml {
  return html`<table class="studies">
<thead><tr><th scope="col">${t.date}</th><th scope="col">${t.description}</th><th scope="col">${t.modalities}</th><th scope="col">${t.accession}</th><th scope="col">${t.status}</th><th scope="col">${t.studyDecision}</th><th scope="col">${t.actions}</th></tr></thead>
<tbody>${consent.studies.map((study) => studyRow(context, t, consent.key, study))}</tbody>
</table>`;
}

function studyRow(context: PageContext, t: Messages, key: string, study: StudyWithConsent): SafeHtml {
  const label = [formatDate(context.language, study.date), study.description ?? study.modalities.join('/')].filter(Boolean).join(' ');
  const decision = study.decision
    ? `${study.decision.provision === 'permit' ? t.agree : t.refuse} (${recorded(context, t, study.decision)})`
    : '—';
  return html`<tr data-study="${study.studyInstanceUid}">
  <td>${formatDate(context.language, study.date)}</td>
  <td>${study.description ?? ''}</td>
  <td>${study.modalities.join(', ')}</td>
  <td>${study.accessionNumber ?? ''}</td>
  <td class="sharing ${study.sharing}">${study.sharing === 'share' ? t.shared : t.withheld}</td>
  <td>${decision}</td>
  <td class="actions">
    ${decisionForm(context, key, 'permit', study.studyInstanceUid, t.agree, undefined, 'permit', t.agreeStudy(label))}
    ${decisionForm(context, key, 'deny', study.studyInstanceUid, t.refuse, undefined, 'deny', t.refuseStudy(label))}
    ${study.decision ? decisionForm(context, key, 'revoke', study.studyInstanceUid, t.revoke, undefined, 'secondary', t.revokeStudy(label), study.decision.consentId) : ''}
  </td>
</tr>`;
}

function decisionForm(
  context: PageContext,
  key: string,
  action: 'permit' | 'deny' | 'revoke',
  study: string | undefined,
  text: string,
  accessKey: string | undefined,
  style: string,
  ariaLabel?: string,
  /** A revocation's: the Consent shown in force, so that a newer decision is not revoked unseen. */
  consentId?: string,
): SafeHtml {
  return html`<form method="post" action="/patient/decision">
  <input type="hidden" name="_csrf" value="${context.csrfToken}">
  <input type="hidden" name="patient" value="${key}">
  <input type="hidden" name="action" value="${action}">
  ${study ? html`<input type="hidden" name="study" value="${study}">` : ''}
  ${consentId ? html`<input type="hidden" name="consent" value="${consentId}">` : ''}
  <button type="submit" class="${style}" ${accessKey ? html`accesskey="${accessKey}"` : ''} ${ariaLabel ? html`aria-label="${ariaLabel}"` : ''}>${text}</button>
</form>`;
}

export function messagePage(context: PageContext, title: string, text: string): string {
  return layout(context, title, html`<h1>${title}</h1><p>${text}</p><p><a href="/" accesskey="n" autofocus>${messages(context.language).newSearch}</a></p>`);
}

export const DESK_CSS = `
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --accent: #0a5bd3; --permit: #116329; --deny: #a40e26; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; background: #fff; padding: .5rem; z-index: 1; }
header { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; padding: .75rem 1.5rem; background: var(--bg); border-bottom: 1px solid var(--line); }
header .brand { margin: 0; }
header nav { display: flex; gap: .75rem; }
.signout { display: flex; gap: .75rem; align-items: center; margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 1.5rem 2rem; }
footer { max-width: 72rem; margin: 0 auto; padding: 0 1.5rem 2rem; color: var(--muted); font-size: .875rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; } h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
fieldset { border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; margin: 0 0 1rem; display: flex; flex-wrap: wrap; gap: .5rem .75rem; align-items: center; }
legend { font-weight: 600; padding: 0 .25rem; }
label { font-weight: 600; }
input { font: inherit; padding: .4rem .6rem; border: 1px solid #8c959f; border-radius: 6px; min-width: 12rem; }
small, .hint { color: var(--muted); }
button { font: inherit; font-weight: 600; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.permit { background: var(--permit); border-color: var(--permit); }
button.deny { background: var(--deny); border-color: var(--deny); }
button.secondary { background: #fff; color: var(--ink); border-color: #8c959f; }
header button { background: #fff; color: var(--ink); border-color: #8c959f; font-weight: 400; }
:focus-visible { outline: 3px solid #fb8500; outline-offset: 2px; }
.login { display: grid; gap: .5rem; max-width: 22rem; }
.actions { display: flex; flex-wrap: wrap; gap: .5rem; } .actions form { margin: 0; }
td.actions { display: table-cell; white-space: nowrap; } td.actions form { display: inline-block; margin-right: .35rem; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
thead th { background: var(--bg); font-size: .875rem; }
.identity { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; } .identity dt { font-weight: 600; } .identity dd { margin: 0; }
.decision { font-weight: 600; padding: .5rem .75rem; border-radius: 6px; background: var(--bg); border-left: 6px solid var(--muted); }
.decision.permit { border-left-color: var(--permit); } .decision.deny { border-left-color: var(--deny); }
.sharing.share { color: var(--permit); font-weight: 600; } .sharing.withhold { color: var(--deny); font-weight: 600; }
.notice { padding: .6rem .9rem; border-radius: 6px; background: #dafbe1; border: 1px solid #4ac26b; }
.alert { padding: .6rem .9rem; border-radius: 6px; background: #ffebe9; border: 1px solid #ff8182; }
code { font-size: .95em; }
`;
