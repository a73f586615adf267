/** The desk page in French and English: the language from a switch (remembered), else Accept-Language. */
export type Language = 'en' | 'fr';
export const LANGUAGES: readonly Language[] = ['fr', 'en'];

const en = {
  title: 'Consent desk',
  product: 'Imaging Facade',
  skipToContent: 'Skip to content',
  signIn: 'Sign in',
  signInTitle: 'Sign in to the consent desk',
  user: 'User name',
  password: 'Password',
  wrongCredentials: 'Wrong user name or password.',
  sessionExpired: 'Your session has expired: sign in again.',
  lockedOut: 'Too many failed sign-ins: try again in a few minutes.',
  signOut: 'Sign out',
  signedInAs: 'Signed in as',
  language: 'Language',
  findPatient: 'Find the patient',
  byIdentifier: 'By identifier',
  identifier: 'Patient identifier',
  identifierHint: 'The patient ID (IPP), or system|value',
  byNameAndBirthDate: 'Or by name and birth date',
  name: 'Name',
  birthDate: 'Birth date',
  search: 'Search',
  results: 'Patients found',
  noResult: 'No patient found with this identifier.',
  noResultByName: 'No patient found with this name and birth date.',
  recordForIdentifier: 'The patient has no study yet? Record their decision for this identifier:',
  open: 'Open',
  studies: 'Studies',
  noStudy: 'No study of this patient on this node yet. A decision recorded now applies to the studies to come.',
  sex: 'Sex',
  currentDecision: 'Current decision',
  policy: 'Policy of this site',
  cumulativeDose: 'Cumulative radiation dose (all studies)',
  policyOptOut: 'opt-out: studies are shared unless the patient refuses',
  policyOptIn: 'opt-in: studies are shared only once the patient agrees',
  noDecision: 'No decision recorded',
  noDecisionOptOut: 'No decision recorded: the studies are shared (opt-out policy).',
  noDecisionOptIn: 'No decision recorded: the studies are held until the patient agrees (opt-in policy).',
  agreedAll: 'Agreed to share all studies',
  refusedAll: 'Refused to share all studies',
  agreedStudyShowsIdentity: 'A study agreed on its own is shared with what identifies the patient (name, birth date, identifiers). Their other studies and their cumulative dose stay withheld.',
  recordedOnBy: (date: string, user: string) => `recorded ${date} by ${user}`,
  allStudies: 'All studies',
  agreeAll: 'Agree: share all studies',
  refuseAll: 'Refuse: share no study',
  revokeAll: 'Revoke the decision for all studies',
  agree: 'Agree',
  refuse: 'Refuse',
  revoke: 'Revoke',
  agreeStudy: (label: string) => `Agree to share the study ${label}`,
  refuseStudy: (label: string) => `Refuse to share the study ${label}`,
  revokeStudy: (label: string) => `Revoke the decision for the study ${label}`,
  date: 'Date',
  description: 'Description',
  modalities: 'Modalities',
  accession: 'Accession no.',
  status: 'In the shared index',
  studyDecision: 'Decision for this study',
  shared: 'Shared',
  withheld: 'Withheld',
  actions: 'Actions',
  newSearch: 'New search',
  done: {
    'permit-all': 'Agreement recorded for all studies.',
    'deny-all': 'Refusal recorded for all studies.',
    'revoke-all': 'Decision for all studies revoked.',
    'permit-study': 'Agreement recorded for the study.',
    'deny-study': 'Refusal recorded for the study.',
    'revoke-study': 'Decision for the study revoked.',
  } as Record<string, string>,
  notAnnounced: 'Recorded, but not yet passed on to the other services: it is retried automatically.',
  failed: 'The decision could not be recorded: the FHIR server did not answer. Try again.',
  error: 'Something went wrong (the FHIR server may be unavailable). Try again in a moment.',
  accessKeysHint: 'Access keys (Alt, or Alt+Shift): F find, A agree (all studies), R refuse (all studies), N new search.',
  unknownPatient: 'Unknown patient identifier.',
  studyOfAnotherPatient: 'This study belongs to another patient at this site: nothing was recorded. Check the patient and the study.',
  changedMeanwhile: 'Nothing was revoked: another decision was recorded since this page was shown (at another desk?). Here is the decision in force now.',
  notReady: 'The consent desk is starting or stopping; try again in a moment.',
  severalPatientRecords:
    'Several patient records carry this identifier: they must be merged (by whoever manages patient identities) before an agreement, or the end of a refusal, can be recorded. Nothing was changed. A refusal can still be recorded.',
};

export type Messages = typeof en;

const fr: Messages = {
  title: 'Accueil — consentement',
  product: 'Imaging Facade',
  skipToContent: 'Aller au contenu',
  signIn: 'Se connecter',
  signInTitle: 'Connexion à l’accueil consentement',
  user: 'Identifiant',
  password: 'Mot de passe',
  wrongCredentials: 'Identifiant ou mot de passe incorrect.',
  sessionExpired: 'Votre session a expiré : reconnectez-vous.',
  lockedOut: 'Trop d’échecs de connexion : réessayez dans quelques minutes.',
  signOut: 'Se déconnecter',
  signedInAs: 'Connecté·e en tant que',
  language: 'Langue',
  findPatient: 'Trouver le patient',
  byIdentifier: 'Par identifiant',
  identifier: 'Identifiant patient',
  identifierHint: 'L’IPP, ou système|valeur',
  byNameAndBirthDate: 'Ou par nom et date de naissance',
  name: 'Nom',
  birthDate: 'Date de naissance',
  search: 'Rechercher',
  results: 'Patients trouvés',
  noResult: 'Aucun patient avec cet identifiant.',
  noResultByName: 'Aucun patient avec ce nom et cette date de naissance.',
  recordForIdentifier: 'Le patient n’a pas encore d’examen ? Enregistrer sa décision pour cet identifiant :',
  open: 'Ouvrir',
  studies: 'Examens',
  noStudy: 'Aucun examen de ce patient sur ce site pour l’instant. Une décision enregistrée maintenant s’applique aux examens à venir.',
  sex: 'Sexe',
  currentDecision: 'Décision en vigueur',
  policy: 'Politique du site',
  cumulativeDose: 'Dose cumulée (tous les examens)',
  policyOptOut: 'opposition (opt-out) : les examens sont partagés sauf refus du patient',
  policyOptIn: 'consentement préalable (opt-in) : les examens ne sont partagés qu’avec l’accord du patient',
  noDecision: 'Aucune décision enregistrée',
  noDecisionOptOut: 'Aucune décision enregistrée : les examens sont partagés (politique d’opposition).',
  noDecisionOptIn: 'Aucune décision enregistrée : les examens sont retenus jusqu’à l’accord du patient (consentement préalable).',
  agreedAll: 'Accepte le partage de tous les examens',
  refusedAll: 'Refuse le partage de tous les examens',
  agreedStudyShowsIdentity: 'Un examen accepté à l’unité est partagé avec ce qui identifie le patient (nom, date de naissance, identifiants). Ses autres examens et sa dose cumulée restent retenus.',
  recordedOnBy: (date: string, user: string) => `enregistré le ${date} par ${user}`,
  allStudies: 'Tous les examens',
  agreeAll: 'Accepte : partager tous les examens',
  refuseAll: 'Refuse : ne partager aucun examen',
  revokeAll: 'Annuler la décision pour tous les examens',
  agree: 'Accepte',
  refuse: 'Refuse',
  revoke: 'Annuler',
  agreeStudy: (label: string) => `Accepte le partage de l’examen ${label}`,
  refuseStudy: (label: string) => `Refuse le partage de l’examen ${label}`,
  revokeStudy: (label: string) => `Annuler la décision pour l’examen ${label}`,
  date: 'Date',
  description: 'Description',
  modalities: 'Modalités',
  accession: 'N° d’accession',
  status: 'Dans l’index partagé',
  studyDecision: 'Décision pour cet examen',
  shared: 'Partagé',
  withheld: 'Retenu',
  actions: 'Actions',
  newSearch: 'Nouvelle recherche',
  done: {
    'permit-all': 'Accord enregistré pour tous les examens.',
    'deny-all': 'Refus enregistré pour tous les examens.',
    'revoke-all': 'Décision pour tous les examens annulée.',
    'permit-study': 'Accord enregistré pour l’examen.',
    'deny-study': 'Refus enregistré pour l’examen.',
    'revoke-study': 'Décision pour l’examen annulée.',
  },
  notAnnounced: 'Enregistré, mais pas encore transmis aux autres services : nouvelle tentative automatique.',
  failed: 'La décision n’a pas pu être enregistrée : le serveur FHIR n’a pas répondu. Réessayez.',
  error: 'Une erreur est survenue (le serveur FHIR est peut-être indisponible). Réessayez dans un instant.',
  accessKeysHint: 'Raccourcis (Alt, ou Alt+Maj) : F rechercher, A accepte (tous les examens), R refuse (tous les examens), N nouvelle recherche.',
  unknownPatient: 'Identifiant patient inconnu.',
  studyOfAnotherPatient: 'Cet examen appartient à un autre patient sur ce site : rien n’a été enregistré. Vérifiez le patient et l’examen.',
  changedMeanwhile: 'Rien n’a été annulé : une autre décision a été enregistrée depuis l’affichage de cette page (à un autre poste ?). Voici la décision en vigueur.',
  notReady: 'L’accueil consentement démarre ou s’arrête ; réessayez dans un instant.',
  severalPatientRecords:
    'Plusieurs dossiers patient portent cet identifiant : ils doivent être fusionnés (par la gestion des identités patient) avant qu’un accord, ou l’annulation d’un refus, puisse être enregistré. Rien n’a été modifié. Un refus peut toujours être enregistré.',
};

const MESSAGES: Record<Language, Messages> = { en, fr };

export function messages(language: Language): Messages {
  return MESSAGES[language];
}

export function isLanguage(value: unknown): value is Language {
  return value === 'en' || value === 'fr';
}

/** The first of our languages in Accept-Language, by quality; French when none matches. */
export function negotiateLanguage(acceptLanguage: string | undefined): Language {
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().toLowerCase().split(';');
      const q = params.map((param) => /^\s*q=([0-9.]+)\s*$/.exec(param)?.[1]).find(Boolean);
      return { language: tag.split('-')[0], quality: q === undefined ? 1 : Number(q), index };
    })
    .filter((entry) => entry.quality > 0)
    .sort((a, b) => b.quality - a.quality || a.index - b.index);
  return ranked.map((entry) => entry.language).find(isLanguage) ?? 'fr';
}

/** A date (YYYY-MM-DD) or an instant as the desk reads it: 05/01/2024 in French, 2024-01-05 in English. */
export function formatDate(language: Language, value: string | undefined, withTime = false): string {
  if (!value) {
    return '';
  }
  const date = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) {
    return value;
  }
  const options: Intl.DateTimeFormatOptions = withTime
    ? { dateStyle: 'short', timeStyle: 'short' }
    : { dateStyle: 'short', timeZone: 'UTC' };
  return new Intl.DateTimeFormat(language === 'fr' ? 'fr-FR' : 'en-CA', options).format(date);
}

/** A dose value as people of the language write numbers (decimal comma in French). */
export function formatDose(language: Language, value: number): string {
  return new Intl.NumberFormat(language === 'fr' ? 'fr-FR' : 'en-GB', { maximumFractionDigits: 2 }).format(value);
}
