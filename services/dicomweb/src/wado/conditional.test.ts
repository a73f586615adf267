import { noneMatchHolds } from './conditional';

describe('If-None-Match against an entity tag (RFC 9110 13.1.2, weak comparison)', () => {
  const etag = 'W/"9c4-18f3a"';
  test.each([
    ['no header', undefined, false],
    ['the same tag', 'W/"9c4-18f3a"', true],
    ['the same tag, strong form', '"9c4-18f3a"', true],
    ['in a list', '"other", W/"9c4-18f3a"', true],
    ['*', '*', true],
    ['another tag', 'W/"9c4-18f3b"', false],
    ['a list without it', '"a", "b"', false],
  ])('%s', (_what, header, holds) => {
    expect(noneMatchHolds(header, etag)).toBe(holds);
  });
});
