/**
 * HTTP Accept negotiation as PS3.18 8.7 describes it for DICOMweb: media ranges with their
 * parameters (`type`, `transfer-syntax`) and quality; the server picks the first acceptable
 * representation it can give, or answers 406. Pure.
 */

export interface MediaRange {
  type: string;
  subtype: string;
  params: Record<string, string>;
  q: number;
}

/** Splits on a separator outside double quotes. */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === separator && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

export function parseAccept(header: string | undefined): MediaRange[] {
  if (!header || header.trim() === '') {
    return [{ type: '*', subtype: '*', params: {}, q: 1 }];
  }
  const ranges: MediaRange[] = [];
  for (const item of splitOutsideQuotes(header, ',')) {
    const [media, ...rawParams] = splitOutsideQuotes(item, ';').map((part) => part.trim());
    const [type, subtype] = (media ?? '').toLowerCase().split('/');
    if (!type || !subtype) continue;
    const params: Record<string, string> = {};
    let q = 1;
    for (const raw of rawParams) {
      const eq = raw.indexOf('=');
      if (eq <= 0) continue;
      const name = raw.slice(0, eq).trim().toLowerCase();
      const value = raw.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (name === 'q') q = Number(value);
      else params[name] = name === 'type' ? value.toLowerCase() : value;
    }
    if (Number.isFinite(q) && q > 0) {
      ranges.push({ type, subtype, params, q });
    }
  }
  // Stable: equal qualities keep the client's order.
  return ranges.map((range, index) => ({ range, index })).sort((a, b) => b.range.q - a.range.q || a.index - b.index).map(({ range }) => range);
}

/** What a client accepts of a multipart answer: the part type and the transfer syntax it asks for (`*` when any). */
export interface MultipartChoice {
  partType: string;
  transferSyntax: string;
}

/**
 * The multipart/related representations a client accepts, for parts of `partTypes` (the first is
 * the default), best first: ranges `multipart/related; type=…` naming one of them, or wildcards.
 * The caller takes the first it can give (a transfer syntax it holds or can produce).
 */
export function multipartChoices(ranges: readonly MediaRange[], partTypes: readonly string[]): MultipartChoice[] {
  const choices: MultipartChoice[] = [];
  for (const range of ranges) {
    const wildcard = range.type === '*' || (range.type === 'multipart' && range.subtype === '*');
    if (wildcard) {
      // `*/*` (or no Accept) asks for the default representation (PS3.18 8.7.5): for instances,
      // application/dicom in explicit VR little endian; failing that (a syntax the node cannot
      // decode), as stored rather than a 406, since the client said anything will do.
      const partType = partTypes[0] as string;
      const named = range.params['transfer-syntax'];
      choices.push({ partType, transferSyntax: named ?? defaultSyntaxOf(partType) });
      if (named === undefined && defaultSyntaxOf(partType) !== '*') choices.push({ partType, transferSyntax: '*' });
    } else if (range.type === 'multipart' && range.subtype === 'related') {
      const partType = range.params.type ?? partTypes[0];
      if (partType && partTypes.includes(partType)) {
        choices.push({ partType, transferSyntax: range.params['transfer-syntax'] ?? defaultSyntaxOf(partType) });
      }
    }
  }
  return choices;
}

/** PS3.18 8.7.3.5.2: application/dicom without a named syntax means explicit VR little endian; other parts as held. */
function defaultSyntaxOf(partType: string): string {
  return partType === 'application/dicom' ? '1.2.840.10008.1.2.1' : '*';
}

/** The client's first multipart choice, or undefined (406). */
export function chooseMultipart(ranges: readonly MediaRange[], partTypes: readonly string[]): MultipartChoice | undefined {
  return multipartChoices(ranges, partTypes)[0];
}

/** The single media type to answer with among `offered` (the first is the default), or undefined (406). */
export function chooseSingle(ranges: readonly MediaRange[], offered: readonly string[]): string | undefined {
  for (const range of ranges) {
    for (const media of offered) {
      const [type, subtype] = media.split('/');
      if ((range.type === '*' || range.type === type) && (range.subtype === '*' || range.subtype === subtype)) {
        return media;
      }
    }
  }
  return undefined;
}
