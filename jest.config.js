/**
 * Three projects: `unit` (every `*.test.ts` beside the code, no servers needed), `integration`
 * (`*.int.test.ts` that talk to the real Kafka broker / FHIR server / DCMTK, and test/e2e, the whole
 * system; the real dependencies are started once by the global setup, only when they are not
 * answering), and `faults` (test/faults: faults caused during a send, on a Kafka and HAPI of its own).
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
    {
      // Runs a Kafka broker and a HAPI server of its own (it stops them for minutes), so no global setup.
      displayName: 'faults',
      rootDir: __dirname,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/faults/**/*.test.ts'],
      moduleNameMapper,
      transform,
    },
  ],
};
