// The project's lint rules, one flat config for every package. Type-aware (the whole workspace is one
// TypeScript program, tsconfig.tests.json), and kept to rules that catch real bugs or keep one
// style where tsc cannot: a promise nobody awaits or handles, a switch that forgets a case, loose
// equality, and type-only imports written as such (they vanish from the emitted JavaScript).
import tseslint from 'typescript-eslint';

/** @param {{ tsconfig: string, files: string[], ignores?: string[] }} options */
export function facadeConfig({ tsconfig, files, ignores = [] }) {
  return tseslint.config(
    { ignores: ['**/dist/**', '**/node_modules/**', ...ignores] },
    {
      files,
      languageOptions: {
        parser: tseslint.parser,
        parserOptions: { project: [tsconfig] },
      },
      plugins: { '@typescript-eslint': tseslint.plugin },
      linterOptions: { reportUnusedDisableDirectives: 'error' },
      rules: {
        '@typescript-eslint/no-floating-promises': 'error',
        '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
        '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
        eqeqeq: ['error', 'always'],
      },
    },
  );
}
