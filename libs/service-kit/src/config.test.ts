import { z } from 'zod';
import { ConfigError, loadConfig } from './config';
import { flag, httpUrl, list, milliseconds, port } from './env';

const schema = z.object({
  PORT: port(8010),
  QUIET_MS: milliseconds(5000),
  BROKERS: list('localhost:9092'),
  BASE: httpUrl('http://localhost:8080/fhir'),
  DEBUG: flag(false),
});

describe('loadConfig', () => {
  test.each([
    ['defaults when nothing is set', {}, { PORT: 8010, QUIET_MS: 5000, BROKERS: ['localhost:9092'], BASE: 'http://localhost:8080/fhir', DEBUG: false }],
    ['numbers are coerced', { PORT: '11112', QUIET_MS: '250' }, { PORT: 11112, QUIET_MS: 250 }],
    ['lists are split and trimmed', { BROKERS: 'a:1, b:2,,' }, { BROKERS: ['a:1', 'b:2'] }],
    ['a trailing slash is dropped from URLs', { BASE: 'https://fhir.example.org/r4/' }, { BASE: 'https://fhir.example.org/r4' }],
    ['"false" is false', { DEBUG: 'false' }, { DEBUG: false }],
    ['"1" is true', { DEBUG: '1' }, { DEBUG: true }],
  ])('%s', (_situation, env, expected) => {
    expect(loadConfig(schema, env)).toMatchObject(expected);
  });

  test.each([
    ['a port out of range', { PORT: '70000' }, 'PORT'],
    ['a port that is not a number', { PORT: 'eleven' }, 'PORT'],
    ['an empty broker list', { BROKERS: ' , ' }, 'BROKERS'],
    ['a URL that is not http', { BASE: 'ftp://x' }, 'BASE'],
    ['a flag that is neither true nor false', { DEBUG: 'maybe' }, 'DEBUG'],
  ])('fails fast, naming the variable, on %s', (_situation, env, variable) => {
    expect(() => loadConfig(schema, env)).toThrow(ConfigError);
    expect(() => loadConfig(schema, env)).toThrow(new RegExp(`${variable}:`));
  });

  test('names every bad variable at once', () => {
    try {
      loadConfig(schema, { PORT: 'x', DEBUG: 'maybe' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect((error as ConfigError).problems).toHaveLength(2);
    }
  });
});
