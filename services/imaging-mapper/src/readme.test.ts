import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bodyPartsMarkdown, codingSchemesMarkdown, mappingTableMarkdown } from './mapping/mapping-doc';

const blockOf = (readme: string, name: string) =>
  new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(readme)?.[1];

describe('the README', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const block = (name: string) => blockOf(readme, name);

  it.each([
    ['mapping-table', mappingTableMarkdown],
    ['coding-schemes', codingSchemesMarkdown],
    ['body-parts', bodyPartsMarkdown],
  ])('shows the %s the code runs', (name, render) => {
    expect(block(name)).toBe(render());
  });
});

describe("the repository's README", () => {
  test('shows the same mapping table, so users check what the code runs', () => {
    const readme = readFileSync(path.join(__dirname, '..', '..', '..', 'README.md'), 'utf8');
    expect(blockOf(readme, 'mapping-table')).toBe(mappingTableMarkdown());
  });
});
