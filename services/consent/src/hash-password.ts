#!/usr/bin/env node
/**
 * Prints the hashed form of a desk password for CONSENT_DESK_ACCOUNTS (`user:<printed hash>`).
 * The password is read from standard input (so that it stays out of the shell history):
 *   printf '%s' 'the password' | node services/consent/dist/hash-password.js
 */
import { hashPassword } from './auth/accounts';

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
  }
  const password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (password.length < 8) {
    process.stderr.write('a desk password needs at least 8 characters\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${await hashPassword(password)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
