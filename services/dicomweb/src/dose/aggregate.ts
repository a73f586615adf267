import type { DoseExam } from './exam-records';
import { keyQuantities, QUANTITY_UNIT, trendQuantity, type DoseQuantity } from './quantities';
import { referenceLevelFor } from './level-matching';
import type { ReferenceTable } from './reference-table';
import { distributionOf } from './statistics';

/**
 * The dashboard's figures, from exams and a reference table: each exam compared with its level,
 * distributions per modality, device and protocol, and trends over time. Pure functions.
 */

export interface Comparison {
  quantity: DoseQuantity;
  value: number;
  level: number;
  above: boolean;
}

export interface AssessedExam extends DoseExam {
  /** The reference level's id and label, when one applies. */
  reference: { id: string; label: string; levels: Partial<Record<DoseQuantity, number>> } | undefined;
  /** The exam's protocol as grouped: the reference level's label, else the protocol text. */
  group: string;
  comparisons: Comparison[];
  /** Some key quantity is above its level. */
  above: boolean;
}

export function assess(exam: DoseExam, table: ReferenceTable): AssessedExam {
  const level = referenceLevelFor(table, exam);
  const comparisons: Comparison[] = [];
  for (const quantity of keyQuantities(exam.modality)) {
    const value = exam.quantities[quantity];
    const limit = level?.levels[quantity];
    if (value !== undefined && limit !== undefined) {
      comparisons.push({ quantity, value, level: limit, above: value > limit });
    }
  }
  return {
    ...exam,
    reference: level ? { id: level.id, label: level.label, levels: level.levels } : undefined,
    group: level?.label ?? exam.protocol,
    comparisons,
    above: comparisons.some((comparison) => comparison.above),
  };
}

export interface QuantityDistribution {
  quantity: DoseQuantity;
  unit: string;
  count: number;
  median: number;
  p75: number;
  /** The reference level, when the group has one. */
  level?: number;
  /** The median above the level: what the NRD procedure looks at. */
  medianAbove?: boolean;
  /** Exams of the group above the level. */
  examsAbove: number;
}

export interface GroupDistribution {
  modality: string;
  device: string;
  protocol: string;
  referenceId: string | undefined;
  count: number;
  quantities: QuantityDistribution[];
}

const key = (...parts: string[]): string => JSON.stringify(parts);

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const name = keyOf(item);
    groups.set(name, [...(groups.get(name) ?? []), item]);
  }
  return groups;
}

/** Per modality, device and protocol: count, median and 75th percentile of each key quantity, beside the level. */
export function distributions(exams: readonly AssessedExam[]): GroupDistribution[] {
  const groups = groupBy(exams, (exam) => key(exam.modality, exam.device, exam.group, exam.reference?.id ?? ''));
  const result: GroupDistribution[] = [];
  for (const members of groups.values()) {
    const first = members[0] as AssessedExam;
    const quantities: QuantityDistribution[] = [];
    for (const quantity of keyQuantities(first.modality)) {
      const values = members.map((exam) => exam.quantities[quantity]).filter((value): value is number => value !== undefined);
      const distribution = distributionOf(values);
      if (!distribution) continue;
      const level = first.reference?.levels[quantity];
      quantities.push({
        quantity,
        unit: QUANTITY_UNIT[quantity],
        count: distribution.count,
        median: distribution.median,
        p75: distribution.p75,
        ...(level !== undefined ? { level, medianAbove: distribution.median > level } : {}),
        examsAbove: level === undefined ? 0 : values.filter((value) => value > level).length,
      });
    }
    result.push({ modality: first.modality, device: first.device, protocol: first.group, referenceId: first.reference?.id, count: members.length, quantities });
  }
  return result.sort((a, b) => a.modality.localeCompare(b.modality) || a.protocol.localeCompare(b.protocol) || a.device.localeCompare(b.device));
}

export type Bucket = 'month' | 'week';

/** The period an exam's calendar day falls in: `2024-01` for a month, the Monday (`2024-01-01`) of an ISO week. */
export function periodOf(date: string, bucket: Bucket): string {
  if (bucket === 'month') return date.slice(0, 7);
  const day = new Date(`${date}T00:00:00Z`);
  const sinceMonday = (day.getUTCDay() + 6) % 7;
  return new Date(day.getTime() - sinceMonday * 86_400_000).toISOString().slice(0, 10);
}

export interface TrendSeries {
  modality: string;
  protocol: string;
  quantity: DoseQuantity;
  unit: string;
  level: number | undefined;
  points: Array<{ period: string; median: number; count: number }>;
}

/** Per modality and protocol, the median of its trend quantity in each period that has exams. */
export function trends(exams: readonly AssessedExam[], bucket: Bucket): TrendSeries[] {
  const series: TrendSeries[] = [];
  for (const members of groupBy(exams, (exam) => key(exam.modality, exam.group)).values()) {
    const first = members[0] as AssessedExam;
    const quantity = trendQuantity(first.modality);
    const points = [...groupBy(members.filter((exam) => exam.quantities[quantity] !== undefined), (exam) => periodOf(exam.date, bucket)).entries()]
      .map(([period, inPeriod]) => {
        const distribution = distributionOf(inPeriod.map((exam) => exam.quantities[quantity] as number));
        return { period, median: distribution?.median ?? 0, count: distribution?.count ?? 0 };
      })
      .sort((a, b) => a.period.localeCompare(b.period));
    if (points.length > 0) {
      series.push({ modality: first.modality, protocol: first.group, quantity, unit: QUANTITY_UNIT[quantity], level: first.reference?.levels[quantity], points });
    }
  }
  return series.sort((a, b) => a.modality.localeCompare(b.modality) || a.protocol.localeCompare(b.protocol));
}

/** Exams above their level, latest first. */
export function flagged(exams: readonly AssessedExam[]): AssessedExam[] {
  return exams.filter((exam) => exam.above).sort((a, b) => b.dateTime.localeCompare(a.dateTime));
}
