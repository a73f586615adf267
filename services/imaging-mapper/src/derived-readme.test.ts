import { readFileSync } from 'node:fs';
import path from 'node:path';
import { derivedMappingMarkdown } from './derived/derived-mapping-doc';

describe('the README', () => {
  it('shows the Endpoint, manifest and dose mappings the code runs', () => {
    const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const shown = /<!-- derived-mapping:start -->\n([\s\S]*?)\n<!-- derived-mapping:end -->/.exec(readme)?.[1];
    expect(shown).toBe(derivedMappingMarkdown());
  });
});
