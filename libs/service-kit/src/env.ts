import { z } from 'zod';

/** Building blocks for configuration schemas: environment values are strings, these coerce them. */

export const port = (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback);

export const milliseconds = (fallback: number) => z.coerce.number().int().min(0).default(fallback);

export const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** "true"/"1"/"yes" are true, "false"/"0"/"no" are false: `z.coerce.boolean()` would make "false" true. */
export const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** A comma-separated list such as "localhost:9092,localhost:9093". */
export const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    )
    .pipe(z.array(z.string()).min(1));

export const httpUrl = (fallback: string) =>
  z
    .url({ protocol: /^https?$/ })
    .default(fallback)
    .transform((value) => value.replace(/\/+$/, ''));

export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info');
