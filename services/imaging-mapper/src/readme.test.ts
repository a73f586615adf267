import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bodyPartsMarkdown, codingSchemesMarkdown, mappingTableMarkdown } from './mapping-doc';

describe('the README', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = (name: string) =>
    new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme)?.[1];

  it.each([
    ['mapping-table', mappingTableMarkdown],
    ['coding-schemes', codingSchemesMarkdown],
    ['body-parts', bodyPartsMarkdown],
  ])('shows the %s the code runs', (name, render) => {
    expect(block(name)).toBe(render());
  });
});
