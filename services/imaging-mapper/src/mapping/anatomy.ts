import type { Coding } from '@medplum/fhirtypes';
import { SNOMED_CT_SYSTEM } from './dicom-codes';

/**
 * Body Part Examined (0018,0015) → SNOMED CT, as DICOM PS3.16 Annex L ("Correspondence of Anatomic
 * Region Codes and Body Part Examined Defined Terms", Table L-1) gives it, with the DICOM Code
 * Meaning as display. The defined terms used in radiology practice; a term not listed here is kept
 * as text (`bodySite.display`).
 */
// prettier-ignore
export const BODY_PART_EXAMINED: Readonly<Record<string, readonly [code: string, meaning: string]>> = {
  ABDOMEN: ['818981001', 'Abdomen'],
  ABDOMENPELVIS: ['818982008', 'Abdomen and Pelvis'],
  ABDOMINALAORTA: ['7832008', 'Abdominal aorta'],
  ACJOINT: ['85856004', 'Acromioclavicular joint'],
  ADRENAL: ['23451007', 'Adrenal gland'],
  ANKLE: ['70258002', 'Ankle joint'],
  AORTA: ['15825003', 'Aorta'],
  AORTICARCH: ['57034009', 'Aortic arch'],
  APPENDIX: ['66754008', 'Appendix'],
  AXILLA: ['91470000', 'Axilla'],
  BACK: ['77568009', 'Back'],
  BLADDER: ['89837001', 'Bladder'],
  BRAIN: ['12738006', 'Brain'],
  BREAST: ['76752008', 'Breast'],
  BRONCHUS: ['955009', 'Bronchus'],
  BUTTOCK: ['46862004', 'Buttock'],
  CALCANEUS: ['80144004', 'Calcaneus'],
  CALF: ['53840002', 'Calf of leg'],
  CAROTID: ['69105007', 'Carotid Artery'],
  CEREBELLUM: ['113305005', 'Cerebellum'],
  CERVIX: ['71252005', 'Cervix'],
  CHEST: ['43799004', 'Chest'],
  CHESTABDOMEN: ['416550000', 'Chest and Abdomen'],
  CHESTABDPELVIS: ['416775004', 'Chest, Abdomen and Pelvis'],
  CIRCLEOFWILLIS: ['11279006', 'Circle of Willis'],
  CLAVICLE: ['51299004', 'Clavicle'],
  COCCYX: ['64688005', 'Coccyx'],
  COLON: ['71854001', 'Colon'],
  CORONARYARTERY: ['41801008', 'Coronary artery'],
  CSPINE: ['122494005', 'Cervical spine'],
  CTSPINE: ['1217257000', 'Cervico-thoracic spine'],
  DUODENUM: ['38848004', 'Duodenum'],
  EAR: ['117590005', 'Ear'],
  ELBOW: ['16953009', 'Elbow joint'],
  ESOPHAGUS: ['32849002', 'Esophagus'],
  EXTREMITY: ['66019005', 'Extremity'],
  EYE: ['81745001', 'Eye'],
  FACE: ['89545001', 'Face'],
  FEMUR: ['71341001', 'Femur'],
  FIBULA: ['87342007', 'Fibula'],
  FINGER: ['7569003', 'Finger'],
  FOOT: ['56459004', 'Foot'],
  FOREARM: ['14975008', 'Forearm'],
  GALLBLADDER: ['28231008', 'Gallbladder'],
  HAND: ['85562004', 'Hand'],
  HEAD: ['69536005', 'Head'],
  HEADNECK: ['774007', 'Head and Neck'],
  HEART: ['80891009', 'Heart'],
  HIP: ['24136001', 'Hip joint'],
  HUMERUS: ['85050009', 'Humerus'],
  IAC: ['361078006', 'Internal Auditory Canal'],
  JAW: ['661005', 'Jaw region'],
  KIDNEY: ['64033007', 'Kidney'],
  KNEE: ['72696002', 'Knee'],
  LARYNX: ['4596009', 'Larynx'],
  LIVER: ['10200004', 'Liver'],
  LOWERLEG: ['30021000', 'Lower leg'],
  LOWERLIMB: ['61685007', 'Lower limb'],
  LSPINE: ['122496007', 'Lumbar spine'],
  LSSPINE: ['1217253001', 'Lumbo-sacral spine'],
  LUNG: ['39607008', 'Lung'],
  MANDIBLE: ['91609006', 'Mandible'],
  MASTOID: ['59066005', 'Mastoid bone'],
  MAXILLA: ['70925003', 'Maxilla'],
  MEDIASTINUM: ['72410000', 'Mediastinum'],
  NECK: ['45048000', 'Neck'],
  NECKCHEST: ['417437006', 'Neck and Chest'],
  NECKCHESTABDOMEN: ['416152001', 'Neck, Chest and Abdomen'],
  NECKCHESTABDPELV: ['416319003', 'Neck, Chest, Abdomen and Pelvis'],
  NOSE: ['45206002', 'Nose'],
  ORBIT: ['363654007', 'Orbital structure'],
  OVARY: ['15497006', 'Ovary'],
  PANCREAS: ['15776009', 'Pancreas'],
  PAROTID: ['45289007', 'Parotid gland'],
  PATELLA: ['64234005', 'Patella'],
  PELVIS: ['816092008', 'Pelvis'],
  PROSTATE: ['41216001', 'Prostate'],
  RADIUS: ['62413002', 'Radius'],
  RECTUM: ['34402009', 'Rectum'],
  RIB: ['113197003', 'Rib'],
  SCAPULA: ['79601000', 'Scapula'],
  SELLA: ['42575006', 'Sella turcica'],
  SHOULDER: ['16982005', 'Shoulder'],
  SIJOINT: ['39723000', 'Sacroiliac joint'],
  SKULL: ['89546000', 'Skull'],
  SPINE: ['421060004', 'Spine'],
  SPLEEN: ['78961009', 'Spleen'],
  SSPINE: ['54735007', 'Sacrum'],
  STERNUM: ['56873002', 'Sternum'],
  STOMACH: ['69695003', 'Stomach'],
  TESTIS: ['40689003', 'Testis'],
  THIGH: ['68367000', 'Thigh'],
  THORAX: ['43799004', 'Thorax'],
  THYROID: ['69748006', 'Thyroid'],
  TIBIA: ['12611008', 'Tibia'],
  TLSPINE: ['1217256009', 'Thoraco-lumbar spine'],
  TMJ: ['53620006', 'Temporomandibular joint'],
  TOE: ['29707007', 'Toe'],
  TSPINE: ['122495006', 'Thoracic spine'],
  ULNA: ['23416004', 'Ulna'],
  UPPERARM: ['40983000', 'Upper arm'],
  UPPERLIMB: ['53120007', 'Upper limb'],
  UTERUS: ['35039007', 'Uterus'],
  WHOLEBODY: ['38266002', 'Entire body'],
  WRIST: ['74670003', 'Wrist joint'],
  ZYGOMA: ['13881006', 'Zygoma'],
};

/** Body Part Examined → a SNOMED CT Coding; a term not in the table → a Coding with its text as display. */
export function bodyPartCoding(value: string): { coding: Coding; known: boolean } {
  const entry = BODY_PART_EXAMINED[value.toUpperCase()];
  return entry
    ? { coding: { system: SNOMED_CT_SYSTEM, code: entry[0], display: entry[1] }, known: true }
    : { coding: { display: value }, known: false };
}

/**
 * Laterality (0020,0060) and Image Laterality's values → SNOMED CT (PS3.16 CID 244 "Laterality").
 * U (unpaired) is left out: an unpaired body part has no side.
 */
export const LATERALITY: Readonly<Record<string, Coding | null>> = {
  R: { system: SNOMED_CT_SYSTEM, code: '24028007', display: 'Right' },
  L: { system: SNOMED_CT_SYSTEM, code: '7771000', display: 'Left' },
  B: { system: SNOMED_CT_SYSTEM, code: '51440002', display: 'Right and left' },
  U: null,
};
