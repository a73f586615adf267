import { readFileSync } from 'node:fs';
import path from 'node:path';
import { mappingTableMarkdown } from './mapping-doc';

describe('the README', () => {
  it('shows the mapping table the code runs', () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const shown = /<!-- mapping-table:start -->\n([\s\S]*?)\n<!-- mapping-table:end -->/.exec(readme)?.[1];
    expect(shown).toBe(mappingTableMarkdown());
  });
});
