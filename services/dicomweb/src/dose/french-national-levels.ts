import { referenceTableSchema, type ReferenceTable } from './reference-table';

/**
 * The default reference table: the French national levels (NRD) of décision ASN n° 2019-DC-0667,
 * limited to the values read in the published text. Each level names its annex and table.
 *
 * Not here (see the README, "Reference levels"): the adult CT levels (annexe 3), the mammography
 * level (annexe 2), the interventional levels and the paediatric ones, whose values could not be
 * read in a source text (and the paediatric ones could not be applied: the dashboard reads no
 * patient's weight or age).
 */

export const DECISION_2019 = "Décision ASN n° 2019-DC-0667 du 18 avril 2019, homologuée par l'arrêté du 23 mai 2019 (JORF 30 mai 2019)";
const TABLE_2_1 = `${DECISION_2019}, annexe 2, tableau 2.1 (adulte, une incidence)`;
const RADIOGRAPHY = ['DX', 'CR'];

/** One radiograph (a single view), by its French name or its usual English one. */
const radiograph = (id: string, label: string, protocol: string, dap: number): unknown => ({
  id: `fr-2019-${id}`,
  label,
  modalities: RADIOGRAPHY,
  match: { protocol },
  levels: { dap },
  source: TABLE_2_1,
});

export const FRENCH_NATIONAL_LEVELS: ReferenceTable = referenceTableSchema.parse({
  name: 'France — NRD, arrêté du 23 mai 2019 (décision ASN 2019-DC-0667)',
  levels: [
    radiograph('thorax-pa', 'Thorax de face (PA)', '(thorax|chest|poumon).*(face|\\bpa\\b|postero|frontal)|\\bpa\\b.*(thorax|chest)', 200),
    radiograph('thorax-lat', 'Thorax de profil', '(thorax|chest|poumon).*(profil|lat)', 550),
    radiograph('asp', 'Abdomen sans préparation', '\\basp\\b|abdomen sans|abdomen.*(simple|plain|kub)|\\bkub\\b', 3400),
    radiograph('bassin-ap', 'Bassin de face (AP)', '(bassin|pelvis).*(face|\\bap\\b|frontal)', 3800),
    radiograph('hanche', 'Hanche', 'hanche|\\bhip\\b', 1350),
    radiograph('rachis-cervical', 'Rachis cervical', '(rachis|spine).*(cervical|c-spine)|cervical spine', 400),
    radiograph('rachis-dorsal-face', 'Rachis dorsal de face', '(rachis|spine).*(dorsal|thoracic).*(face|\\bap\\b|frontal)', 1000),
    radiograph('rachis-dorsal-profil', 'Rachis dorsal de profil', '(rachis|spine).*(dorsal|thoracic).*(profil|lat)', 1150),
    radiograph('rachis-lombaire-face', 'Rachis lombaire de face', '(rachis|spine).*(lombaire|lumbar).*(face|\\bap\\b|frontal)', 2700),
    radiograph('rachis-lombaire-profil', 'Rachis lombaire de profil', '(rachis|spine).*(lombaire|lumbar).*(profil|lat)', 3900),
    // Every panoramic dental X-ray (modality PX) is an orthopantomogram.
    { id: 'fr-2019-orthopantomographie', label: 'Orthopantomographie', modalities: ['PX'], levels: { dap: 150 }, source: TABLE_2_1 },
  ],
});
