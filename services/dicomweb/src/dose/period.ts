import { z } from 'zod';
import { badRequest, OutcomeError } from '@imaging-facade/fhir-outcomes';

/**
 * The period a dashboard request is about: `from` and `to` calendar days, both included (default:
 * the last twelve months), and the trend's bucket. Checked here, at the edge.
 */
export interface Period {
  from: string;
  to: string;
  /** The day after `to`: the search's exclusive end. */
  until: string;
  bucket: 'month' | 'week';
}

const DAY_MS = 86_400_000;
const MAX_DAYS = 3660;

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a day, YYYY-MM-DD')
  .refine((text) => !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && new Date(`${text}T00:00:00Z`).toISOString().startsWith(text), 'not a calendar day');

const query = z.object({
  from: day.optional(),
  to: day.optional(),
  bucket: z.enum(['month', 'week']).default('month'),
});

const shift = (text: string, days: number): string => new Date(Date.parse(`${text}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

export function parsePeriod(raw: Record<string, unknown>, today: Date = new Date()): Period {
  const parsed = query.safeParse(raw);
  if (!parsed.success) {
    throw new OutcomeError(badRequest(`from, to and bucket: ${z.prettifyError(parsed.error)}`));
  }
  const to = parsed.data.to ?? today.toISOString().slice(0, 10);
  const from = parsed.data.from ?? shift(to, -365);
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS;
  if (days < 0) throw new OutcomeError(badRequest('from must not be after to'));
  if (days > MAX_DAYS) throw new OutcomeError(badRequest(`a period is at most ${MAX_DAYS} days`));
  return { from, to, until: shift(to, 1), bucket: parsed.data.bucket };
}
