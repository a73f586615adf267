/**
 * Two projects: `unit` (every `*.test.ts` beside the code, no servers needed, plus `*.int.test.ts`
 * that talk to the real Kafka broker / FHIR server / DCMTK) and `e2e` (test/e2e, the whole system).
 * The real dependencies are started once by the global setup, only when they are not answering.
 */
const moduleNameMapper = { '^@imaging-facade/([^/]+)$': '<rootDir>/libs/$1/src' };
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.base.json' }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/{libs,services}/*/src/**/*.test.ts'],
      testPathIgnorePatterns: ['\\.int\\.test\\.ts$', '/node_modules/', '/dist/'],
      moduleNameMapper,
      transform,
    },
    {
      displayName: 'integration',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/{libs,services}/*/src/**/*.int.test.ts', '<rootDir>/test/e2e/**/*.e2e.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/test/support/integration-timeout.js'],
      moduleNameMapper,
      transform,
    },
  ],
};
