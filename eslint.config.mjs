import { facadeConfig } from '@imaging-facade/eslint-config';

export default facadeConfig({
  tsconfig: './tsconfig.tests.json',
  files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', 'test/**/*.ts'],
});
