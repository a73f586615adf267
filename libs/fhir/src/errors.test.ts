import { FhirError, isRetryableFhirError, outcomeDiagnostics, redactDiagnostics } from './errors';

const networkError = (code: string) =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

describe('isRetryableFhirError', () => {
  it.each<[string, unknown, boolean]>([
    ['no response at all', new FhirError('down', undefined), true],
    ['408 Request Timeout', new FhirError('', 408), true],
    ['409 Conflict (HAPI version conflict)', new FhirError('', 409), true],
    ['412 Precondition Failed (If-Match)', new FhirError('', 412), true],
    ['429 Too Many Requests', new FhirError('', 429), true],
    ['500', new FhirError('', 500), true],
    ['502', new FhirError('', 502), true],
    ['503', new FhirError('', 503), true],
    ['400 Bad Request', new FhirError('', 400), false],
    [
      '400 from HAPI: a referenced resource deleted since it was read (HAPI-1096, a concurrent writer)',
      new FhirError('', 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-1096: Resource ImagingStudy/3053 is deleted, specified in path: Observation.focus' }] }),
      true,
    ],
    [
      '400 from HAPI for another reason',
      new FhirError('', 400, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0450: Failed to parse request body' }] }),
      false,
    ],
    [
      '500 from HAPI: a match URL longer than its column (HAPI-0389, H2)',
      new FhirError('', 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0389: Failed to call access method: org.springframework.dao.DataIntegrityViolationException: could not execute statement [Value too long for column "RES_SEARCH_URL CHARACTER VARYING(768)"' }] }),
      false,
    ],
    [
      '409 from HAPI: the same in a batch (HAPI-0550, H2)',
      new FhirError('', 409, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0550: could not execute batch [Value too long for column "RES_SEARCH_URL CHARACTER VARYING(768)"' }] }),
      false,
    ],
    [
      '500 from HAPI on PostgreSQL: value too long for type character varying(768)',
      new FhirError('', 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'ERROR: value too long for type character varying(768)' }] }),
      false,
    ],
    [
      '500 from HAPI for another reason (a database briefly away)',
      new FhirError('', 500, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'processing', diagnostics: 'HAPI-0389: Unable to acquire JDBC Connection' }] }),
      true,
    ],
    ['401', new FhirError('', 401), false],
    ['403', new FhirError('', 403), false],
    ['404', new FhirError('', 404), false],
    ['410 Gone', new FhirError('', 410), false],
    ['422 Unprocessable Entity', new FhirError('', 422), false],
    ['a raw ECONNREFUSED', networkError('ECONNREFUSED'), true],
    ['a raw ECONNRESET', networkError('ECONNRESET'), true],
    ['a raw DNS failure', networkError('EAI_AGAIN'), true],
    ['an undici connect timeout', networkError('UND_ERR_CONNECT_TIMEOUT'), true],
    ['an AbortSignal timeout', new DOMException('timed out', 'TimeoutError'), true],
    ['an error with a code directly on it', Object.assign(new Error('x'), { code: 'ETIMEDOUT' }), true],
    ['a programming error', new TypeError('x is not a function'), false],
    ['a plain Error', new Error('boom'), false],
    ['a string', 'boom', false],
    ['undefined', undefined, false],
    [
      'a cause cycle',
      (() => {
        const e: { cause?: unknown } = {};
        e.cause = e;
        return e;
      })(),
      false,
    ],
  ])('%s → %s', (_situation, error, retryable) => {
    expect(isRetryableFhirError(error)).toBe(retryable);
  });
});

describe('outcomeDiagnostics', () => {
  it.each<[string, Parameters<typeof outcomeDiagnostics>[0], string | undefined]>([
    ['no outcome', undefined, undefined],
    ['no issues', { resourceType: 'OperationOutcome', issue: [] }, undefined],
    [
      'error diagnostics first, warnings left out',
      {
        resourceType: 'OperationOutcome',
        issue: [
          { severity: 'warning', code: 'processing', diagnostics: 'just a warning' },
          { severity: 'error', code: 'processing', diagnostics: 'HAPI-0550: bad' },
          { severity: 'fatal', code: 'processing', details: { text: 'worse' } },
        ],
      },
      'HAPI-0550: bad; worse',
    ],
    [
      'only a warning',
      { resourceType: 'OperationOutcome', issue: [{ severity: 'warning', code: 'processing', diagnostics: 'w' }] },
      'w',
    ],
  ])('%s', (_situation, outcome, expected) => {
    expect(outcomeDiagnostics(outcome)).toBe(expected);
  });
});

describe('redactDiagnostics', () => {
  it.each([
    [
      'a match URL (HAPI-0958)',
      'HAPI-0958: Failed to CREATE Patient with match URL "identifier=urn%3Ax%7CPID-1" because this search matched 2 resources',
      'HAPI-0958: Failed to CREATE Patient with match URL "…" because this search matched 2 resources',
    ],
    [
      'a rejected value, keeping the element',
      'HAPI-1821: [element="birthDate"] Invalid attribute value "1980-13-45": Invalid date/time format: "1980-13-45"',
      'HAPI-1821: [element="birthDate"] Invalid attribute value "…": Invalid date/time format: "…"',
    ],
    [
      'an unquoted search URL',
      'Multiple resources match this search: Patient?identifier=urn:x|PID-1&_count=2',
      'Multiple resources match this search: Patient?identifier=…&_count=…',
    ],
    [
      'a path is kept',
      'Missing element "ImagingStudy.series[0].modality"',
      'Missing element "ImagingStudy.series[0].modality"',
    ],
    ['plain text is kept', 'HAPI-0550: version conflict', 'HAPI-0550: version conflict'],
  ])('%s', (_situation, text, redacted) => {
    expect(redactDiagnostics(text)).toBe(redacted);
  });

  it('keeps the raw OperationOutcome on the error, out of its enumerable (logged) properties', () => {
    const outcome = { resourceType: 'OperationOutcome' as const, issue: [] };
    const error = new FhirError('x', 400, outcome);
    expect(error.outcome).toBe(outcome);
    expect(Object.keys(error)).not.toContain('outcome');
  });
});
