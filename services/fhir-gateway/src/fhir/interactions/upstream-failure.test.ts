import { upstreamFailure } from './upstream-failure';

const hapi = (status: number, diagnostics: string, code = 'processing') => ({
  status,
  headers: {},
  body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, diagnostics }] },
});

const logged: Array<Record<string, unknown>> = [];
/** The one call upstreamFailure makes on its logger, recorded. */
const logger = { warn: (fields: Record<string, unknown>) => void logged.push(fields) } as never;

describe('upstreamFailure: the FHIR server refuses in its words, the client hears ours', () => {
  test.each([
    [
      'an unknown search parameter',
      hapi(400, 'HAPI-0524: Unknown search parameter "foo" for resource type "ImagingStudy". Valid search parameters for this search are: [_id, …]'),
      400,
      'processing',
      /^Unknown search parameter for this resource type/,
    ],
    ['a bad date', hapi(400, 'HAPI-1940: Invalid date/time/quantity format: "Smith"'), 400, 'processing', /not in the format/],
    ['an expired page', hapi(410, 'HAPI-0417: Search ID "abc" does not exist and may have expired'), 410, 'processing', /run the search again/],
    ['a SQL error in a 400', hapi(400, 'HAPI-9999: org.hibernate.exception.SQLGrammarException: could not prepare statement [select * from HFJ_RESOURCE]'), 400, 'processing', /^The FHIR server could not process/],
    ['a 404 naming the internal address', hapi(404, 'HAPI-2001: Resource http://hapi.internal:8080/fhir/ImagingStudy/x is not known', 'not-found'), 404, 'not-found', /^Not known/],
    ['a 412 without an OperationOutcome', { status: 412, headers: {}, body: 'java.lang.IllegalStateException' }, 412, 'conflict', /version conflict/],
    ['an issue code outside FHIR’s vocabulary', hapi(422, 'ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException', 'ca.uhn.weird'), 422, 'business-rule', /refused the resource/],
    ['a 500 with a stack trace', hapi(500, 'HAPI-0389: java.lang.NullPointerException at ca.uhn.fhir.jpa…', 'exception'), 502, 'transient', /HTTP 500/],
    ['a 401 of the server (our own misconfiguration)', hapi(401, 'HAPI-0333: no'), 502, 'transient', /HTTP 401/],
  ])('%s', (_situation, response, status, code, text) => {
    const result = upstreamFailure(response, logger, 'req-1');
    expect(result.status).toBe(status);
    const issue = result.outcome.issue?.[0];
    expect(issue?.code).toBe(code);
    expect(issue?.diagnostics).toMatch(text);
    expect(JSON.stringify(result.outcome)).not.toMatch(/HAPI-|ca\.uhn|java\.|hibernate|SQL|hapi\.internal|Smith|foo/);
  });

  test('the operator gets the status, the issue code and the message id, never the values HAPI quoted', () => {
    logged.length = 0;
    upstreamFailure(hapi(400, 'HAPI-1940: Invalid date/time/quantity format: "Smith"'), logger, 'req-2');
    expect(logged).toEqual([{ requestId: 'req-2', upstreamStatus: 400, upstreamCode: 'processing', upstreamMessageIds: ['HAPI-1940'] }]);
  });
});
