/**
 * A study the mapper can never write as it is (no PatientID, an ambiguous match on the server):
 * not retryable, so the event goes to the dead-letter topic with this message as its reason.
 */
export class UnprocessableStudyError extends Error {
  constructor(reason: string) {
    super(`study cannot be mapped: ${reason}`);
    this.name = 'UnprocessableStudyError';
  }
}
