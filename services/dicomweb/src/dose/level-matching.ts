import type { ReferenceLevel, ReferenceTable } from './reference-table';

/** What matching looks at in an exam (no patient data). */
export interface MatchedExam {
  modality: string;
  protocol: string;
  /** SNOMED CT codes of the target regions of the exam's irradiation events. */
  targetRegions: readonly string[];
}

/**
 * Whether a level applies to an exam: its modality is one of the level's, and its protocol matches
 * the level's pattern or its target regions all lie among the level's. "All" is what a radiation
 * protection officer expects of a CT: a thorax-abdomen-pelvis exam (chest and abdomen-pelvis
 * acquisitions) is not compared with a thorax level, whose regions hold only the chest. An exam
 * without any target region is matched by its protocol only. A level with neither takes every exam
 * of its modalities. Pure.
 */
export function levelFits(level: ReferenceLevel, exam: MatchedExam): boolean {
  if (!level.modalities.includes(exam.modality)) return false;
  const { protocol, targetRegions } = level.match;
  if (protocol === undefined && targetRegions.length === 0) return true;
  if (protocol !== undefined && new RegExp(protocol, 'i').test(exam.protocol)) return true;
  return targetRegions.length > 0 && exam.targetRegions.length > 0 && exam.targetRegions.every((code) => targetRegions.includes(code));
}

/** The level an exam is compared with: the first of the table that fits, or none. */
export function referenceLevelFor(table: ReferenceTable, exam: MatchedExam): ReferenceLevel | undefined {
  return table.levels.find((level) => levelFits(level, exam));
}
