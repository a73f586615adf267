import { html } from './html';

describe('html', () => {
  test.each([
    ['a script in a value', '<script>alert(1)</script>', '&#60;script&#62;alert(1)&#60;/script&#62;'],
    ['quotes that would leave an attribute', '" onfocus="alert(1)', '&#34; onfocus&#61;&#34;alert(1)'],
    ['an ampersand', 'A & B', 'A &#38; B'],
  ])('escapes %s', (_situation, value, expected) => {
    expect(html`<p title="${value}">${value}</p>`.value).toBe(`<p title="${expected}">${expected}</p>`);
  });

  test('inserts nested fragments and lists as they are, and skips empty values', () => {
    const items = ['a<', 'b'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}${undefined}${false}</ul>`.value).toBe('<ul><li>a&#60;</li><li>b</li></ul>');
  });
});
