import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CSV_COLUMNS } from './csv-export';
import { FRENCH_NATIONAL_LEVELS } from './french-national-levels';
import { referenceLevelFor } from './level-matching';
import { referenceTableSchema } from './reference-table';

const README = readFileSync(path.join(__dirname, '..', '..', '..', '..', 'README.md'), 'utf8');

function between(name: string): string {
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n<!-- ${name}:end -->`).exec(README);
  if (!match?.[1]) throw new Error(`README has no ${name} block`);
  return match[1];
}

/** The README's tables are the code's, so that what a site reads is what the dashboard does. */
describe('the README of the dose dashboard', () => {
  test('lists the default reference levels as the code has them', () => {
    const rows = FRENCH_NATIONAL_LEVELS.levels.map((level) => `| \`${level.id}\` | ${level.label} | ${level.modalities.join(', ')} | ${level.levels.dap} | A2 |`);
    expect(between('drl-table')).toBe(['| id | exam | modalities | DAP (mGy.cm²) | source |', '| --- | --- | --- | --- | --- |', ...rows].join('\n'));
    // Every default level is radiography from annexe 2, and says so.
    expect(FRENCH_NATIONAL_LEVELS.levels.every((level) => level.source.includes('annexe 2, tableau 2.1') && Object.keys(level.levels).join() === 'dap')).toBe(true);
  });

  test('shows a site\'s table that the service accepts, and that matches as the README says', () => {
    const example = /\*\*Replacing the table\.\*\*[\s\S]*?```json\n([\s\S]*?)\n```/.exec(README)?.[1];
    const table = referenceTableSchema.parse(JSON.parse(example ?? 'null'));
    const ct = (targetRegions: string[]) => referenceLevelFor(table, { modality: 'CT', protocol: 'Routine', targetRegions })?.id;
    expect([ct(['51185008']), ct(['51185008', '818981001']), ct(['416775004'])]).toEqual(['ct-thorax', 'ct-tap', 'ct-tap']);
    expect(referenceLevelFor(table, { modality: 'MG', protocol: 'Dépistage', targetRegions: [] })?.levels).toEqual({ agd_view: 2.5 });
  });

  test('documents every CSV column, in order', () => {
    const rows = CSV_COLUMNS.map((column) => `| \`${column.name}\` | ${column.doc} |`);
    expect(between('csv-columns')).toBe(['| column | content |', '| --- | --- |', ...rows].join('\n'));
  });
});
