import { formatDate, messages, negotiateLanguage } from './i18n';

describe('negotiateLanguage', () => {
  test.each([
    ['no header: French, the desk default', undefined, 'fr'],
    ['English first', 'en-GB,en;q=0.9,fr;q=0.8', 'en'],
    ['French first', 'fr-FR,fr;q=0.9,en;q=0.5', 'fr'],
    ['by quality, not by order', 'de;q=0.9,en;q=0.8,fr;q=0.9', 'fr'],
    ['a language we do not have, then English', 'de-DE,en;q=0.5', 'en'],
    ['only languages we do not have', 'de,es', 'fr'],
    ['English refused with q=0', 'en;q=0,fr;q=0.1', 'fr'],
  ])('%s', (_situation, header, expected) => {
    expect(negotiateLanguage(header)).toBe(expected);
  });
});

describe('formatDate', () => {
  test.each([
    ['fr', '2024-01-05', '05/01/2024'],
    ['en', '2024-01-05', '2024-01-05'],
  ] as const)('%s: %s → %s', (language, value, expected) => {
    expect(formatDate(language, value)).toBe(expected);
  });
});

describe('messages', () => {
  test('French and English have the same keys', () => {
    expect(Object.keys(messages('fr')).sort()).toEqual(Object.keys(messages('en')).sort());
    expect(Object.keys(messages('fr').done).sort()).toEqual(Object.keys(messages('en').done).sort());
  });
});
