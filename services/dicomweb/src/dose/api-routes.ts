import express, { type Request, type Response, type Router } from 'express';
import { OutcomeError, outcomeErrorHandler, sendOutcome, notFound } from '@imaging-facade/fhir-outcomes';
import { assess, distributions, flagged, trends } from './aggregate';
import { doseAccess, auditStudies, type DoseAccessDeps } from './api-access';
import { consentedExams, type ConsentFilter } from './consented-exams';
import { examsCsv } from './csv-export';
import { TooManyExamsError, type DoseSource } from './dose-source';
import { examsOf } from './exam-records';
import { parsePeriod, type Period } from './period';
import type { ReferenceTable } from './reference-table';

export interface DoseApiDeps extends DoseAccessDeps, ConsentFilter {
  access: DoseAccessDeps['access'] & ConsentFilter['access'];
  source: DoseSource;
  table: ReferenceTable;
  /** Flagged exams listed in the summary at most (the CSV has them all). */
  maxFlaggedListed: number;
}

/** The dashboard's API: its figures for a period (JSON), and the exams as CSV; only exams consent shares, by DICOMweb's rule. */
export function doseApiRoutes(deps: DoseApiDeps): Router {
  const router = express.Router();
  router.use(doseAccess(deps));

  /** The period's exams consent shares, assessed, and how many others the period holds (said, never shown). */
  const assessed = async (period: Period) => {
    try {
      // Consent first: what a refusal withholds is neither listed nor exported nor counted in any figure.
      const all = examsOf(await deps.source.resources(period));
      const shown = consentedExams(all, deps);
      return { exams: shown.map((exam) => assess(exam, deps.table)), notShown: all.length - shown.length };
    } catch (error) {
      if (error instanceof TooManyExamsError) throw new OutcomeError({ status: 422, outcome: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'too-costly', diagnostics: error.message }] } });
      throw error;
    }
  };

  router.get('/summary', async (req: Request, res: Response) => {
    const period = parsePeriod(req.query as Record<string, unknown>);
    const { exams, notShown } = await assessed(period);
    const above = flagged(exams);
    const listed = above.slice(0, deps.maxFlaggedListed);
    auditStudies(res, listed.map((exam) => exam.studyUid), deps.studies);
    res.json({
      period: { from: period.from, to: period.to, bucket: period.bucket },
      referenceTable: { name: deps.table.name, levels: deps.table.levels },
      exams: exams.length,
      // The figures are not the period's whole: a reviewer must know how many exams they leave out.
      notShown,
      flaggedCount: above.length,
      distributions: distributions(exams),
      trends: trends(exams, period.bucket),
      flagged: listed.map((exam) => ({
        date: exam.date,
        studyUid: exam.studyUid,
        modality: exam.modality,
        device: exam.device,
        protocol: exam.protocol,
        reference: exam.reference?.label,
        comparisons: exam.comparisons,
      })),
    });
  });

  router.get('/export.csv', async (req: Request, res: Response) => {
    const period = parsePeriod(req.query as Record<string, unknown>);
    const { exams } = await assessed(period);
    auditStudies(res, exams.map((exam) => exam.studyUid), deps.studies);
    res
      .status(200)
      .type('text/csv; charset=utf-8')
      .set('content-disposition', `attachment; filename="dose-${period.from}_${period.to}.csv"`)
      .send(examsCsv(exams));
  });

  router.use((req, res) => sendOutcome(res, notFound(`No dose dashboard API at ${req.path}`)));
  router.use(outcomeErrorHandler(deps.logger));
  return router;
}
