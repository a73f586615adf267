import { badRequest, OutcomeError } from '@imaging-facade/fhir-outcomes';

/**
 * The search parameters whose names begin with `_`: only those listed here reach the FHIR server,
 * each in the forms listed. The gateway decides what a client may see from the answer itself (its
 * patients, its studies), so a parameter that reshapes the answer (`_elements:exclude`,
 * `_summary=text`, `_narrative`) could hide what the decision needs, and one that counts
 * (`_summary=count`, `_total`) would count what consent withholds. Anything not listed is refused
 * with a 400 rather than passed on for the server to interpret.
 */

/**
 * Elements the gateway needs to decide whether it may show a resource (its patient, its study):
 * added to a client's `_elements` so that a narrowed answer can still be checked.
 */
export const ELEMENTS_NEEDED: Readonly<Record<string, readonly string[]>> = {
  Patient: ['identifier'],
  ImagingStudy: ['subject', 'identifier'],
  DocumentReference: ['subject', 'context'],
  Observation: ['subject', 'partOf', 'derivedFrom'],
};

/** Every type's needed elements: a page link's `_elements` may be applied to any type of the search's answer. */
const ELEMENTS_NEEDED_BY_ANY = [...new Set(Object.values(ELEMENTS_NEEDED).flat())];

/** Filters on the server's common search parameters: they narrow a search, never reshape its answer. */
const FILTERS = new Set(['_id', '_lastUpdated', '_tag', '_profile', '_security', '_source', '_text', '_content', '_list']);
const FILTER_MODIFIERS = new Set(['missing', 'not', 'exact', 'contains', 'text', 'above', 'below', 'in', 'not-in']);

/** `_summary` values that keep every element the gateway checks, whatever the type. */
const SUMMARIES = new Set(['false', 'data']);
/**
 * Types whose needed elements are all summary elements in R4, so that `_summary=true` keeps them.
 * Not DocumentReference: HAPI's summary keeps `context` but drops `context.related`, the study a
 * manifest belongs to (seen on HAPI 8.8.0); not Observation, whose study links are not checked here.
 */
const SUMMARY_TRUE_TYPES = new Set(['Patient', 'ImagingStudy', 'Endpoint']);

/** Parameters of a page link (`[base]?_getpages=…`), as the server writes them into the links of an answer (with `_include`s). */
const PAGE_PARAMETERS = new Set(['_getpages', '_getpagesoffset', '_count', '_pretty', '_bundletype', '_format']);
/** Page link parameters checked as in a search: the ones that may shape or add to the answer. */
const PAGE_RESULT_PARAMETERS = new Set(['_elements', '_summary', '_include', '_revinclude']);

const refuse = (diagnostics: string): never => {
  throw new OutcomeError(badRequest(diagnostics));
};

/**
 * The form in which a client's `_`-parameter is sent to the FHIR server (`_elements` widened with
 * `needed`), or a 400 when the gateway does not let it through.
 */
export function resultParameter(name: string, value: string, needed: readonly string[], resourceType?: string): [string, string] {
  const [base = '', modifier, ...more] = name.split(':');
  if (FILTERS.has(base) && more.length === 0 && (modifier === undefined || FILTER_MODIFIERS.has(modifier))) {
    return [name, value];
  }
  if ((base === '_include' || base === '_revinclude') && more.length === 0 && (modifier === undefined || modifier === 'iterate' || modifier === 'recurse')) {
    // Each resource an include brings is checked like any other of the answer.
    return [name, value];
  }
  if (modifier !== undefined) {
    return refuse(`${name}: the modifier :${[modifier, ...more].join(':')} is not supported by the gateway on ${base}`);
  }
  switch (name) {
    case '_count':
    case '_offset':
    case '_pretty':
      return [name, value];
    case '_sort':
      if (value.includes('.')) {
        return refuse('_sort on a chained parameter is not supported by the gateway');
      }
      return [name, value];
    case '_summary': {
      // HAPI reads the value in any case: so does the gateway, and it sends it on as it checked it.
      const summary = value.toLowerCase();
      if (summary === 'true' && resourceType !== undefined && SUMMARY_TRUE_TYPES.has(resourceType)) {
        return [name, summary];
      }
      if (!SUMMARIES.has(summary)) {
        return refuse(
          `_summary=${value} is not supported by the gateway here (false and data; true on Patient, ImagingStudy and Endpoint): the gateway must see each resource's patient and study, and does not count what consent may withhold`,
        );
      }
      return [name, summary];
    }
    case '_total':
      if (value !== 'none') {
        return refuse('_total is not supported by the gateway (only none): it does not count what consent may withhold');
      }
      return [name, value];
    case '_elements':
      return [name, widenedElements(value, needed)];
    case '_has':
      return refuse('_has (reverse chaining) is not supported by the gateway');
    default:
      return refuse(`${name} is not supported by the gateway`);
  }
}

/**
 * A client's `_elements` with what the gateway checks added. HAPI applies plain names to the
 * searched type only, and a type-qualified list (`Observation.component`) to the resources of that
 * type an include brings: `partOf` left out of such a list made a dose Observation look as if it
 * belonged to no study. So each type the client names (every type, for `*.`) gets its needed
 * elements qualified too.
 */
export function widenedElements(value: string, needed: readonly string[]): string {
  const entries = value.split(',').map((element) => element.trim()).filter(Boolean);
  const wanted = new Set([...entries, ...needed]);
  const qualified = new Set(entries.filter((entry) => entry.includes('.')).map((entry) => entry.slice(0, entry.indexOf('.'))));
  const types = qualified.has('*') ? Object.keys(ELEMENTS_NEEDED) : [...qualified];
  for (const type of types) {
    for (const element of ELEMENTS_NEEDED[type] ?? []) {
      wanted.add(`${type}.${element}`);
    }
  }
  return [...wanted].join(',');
}

/** `_`-parameters of a search of `resourceType`, each through `resultParameter`; `_has:…` is refused. */
export function searchResultParameter(resourceType: string, name: string, value: string): [string, string] {
  if (name.startsWith('_has:')) {
    return refuse('_has (reverse chaining) is not supported by the gateway');
  }
  return resultParameter(name, value, ELEMENTS_NEEDED[resourceType] ?? [], resourceType);
}

/**
 * The query of a page link as it is sent on: only the parameters the server's own links carry,
 * `_elements` widened for any type, `_summary` as in a search. A client cannot reshape a page of a
 * search it was allowed by adding its own parameters to the link.
 */
export function pageQuery(query: string): string {
  const params: Array<[string, string]> = [];
  for (const [name, value] of new URLSearchParams(query)) {
    if (PAGE_RESULT_PARAMETERS.has(name.split(':')[0] ?? '')) {
      params.push(resultParameter(name, value, ELEMENTS_NEEDED_BY_ANY));
      continue;
    }
    if (!PAGE_PARAMETERS.has(name)) {
      refuse(`${name} is not a parameter of a page link: follow the links of a search answer as they are`);
    }
    if (name === '_bundletype' && value !== 'searchset') {
      refuse(`_bundletype=${value} is not supported by the gateway`);
    }
    params.push([name, value]);
  }
  return new URLSearchParams(params).toString();
}
