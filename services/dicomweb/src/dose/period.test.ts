import { isOutcomeError } from '@imaging-facade/fhir-outcomes';
import { parsePeriod } from './period';

const TODAY = new Date('2026-12-04T05:00:00Z');

describe('the period of a request', () => {
  test.each([
    ['nothing: the last twelve months, by month', {}, { from: '2025-12-04', to: '2026-12-04', until: '2026-12-05', bucket: 'month' }],
    ['both days, by week', { from: '2024-01-01', to: '2024-01-31', bucket: 'week' }, { from: '2024-01-01', to: '2024-01-31', until: '2024-02-01', bucket: 'week' }],
    ['one day', { from: '2024-02-29', to: '2024-02-29' }, { from: '2024-02-29', to: '2024-02-29', until: '2024-03-01', bucket: 'month' }],
  ])('%s', (_name, raw, expected) => {
    expect(parsePeriod(raw, TODAY)).toEqual(expected);
  });

  test.each([
    ['a day that does not exist', { from: '2023-02-29' }],
    ['another format', { from: '05/01/2024' }],
    ['from after to', { from: '2024-02-01', to: '2024-01-01' }],
    ['more than ten years', { from: '2000-01-01', to: '2024-01-01' }],
    ['an unknown bucket', { bucket: 'day' }],
  ])('%s is a 400', (_name, raw) => {
    let caught: unknown;
    try {
      parsePeriod(raw, TODAY);
    } catch (error) {
      caught = error;
    }
    expect(isOutcomeError(caught) && caught.status).toBe(400);
  });
});
