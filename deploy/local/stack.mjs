#!/usr/bin/env node
// Imaging Facade local stack — plain Node ESM, no npm dependencies (it runs before `pnpm install`).
//
//   node deploy/local/stack.mjs start  [--only a,b] [--quiet]   foreground; Ctrl-C stops everything
//   node deploy/local/stack.mjs up     [--only a,b]             background; returns once healthy
//   node deploy/local/stack.mjs down   [--only a,b]             stops what `up` started
//   node deploy/local/stack.mjs status [--only a,b]             health of each component
//
// Components, ports and environment: deploy/local/README.md, lib/components.mjs, lib/env.mjs.
import { cmdStart, cmdUp, cmdDown, cmdStatus } from './lib/commands.mjs';
import { componentNames } from './lib/components.mjs';

const USAGE = `usage: node deploy/local/stack.mjs <start|up|down|status> [--only ${componentNames.join(',')}] [--quiet]
  start   install what is missing, start every component in the foreground (Ctrl-C stops all)
  up      same, detached in the background (pid files and logs under $FACADE_DATA_DIR/{run,logs})
  down    stop what "up" started, in reverse order
  status  show whether each component is healthy (exit 1 if any is not)
  --only  comma-separated subset of: ${componentNames.join(', ')}
  --quiet with start: keep component output in the log files only`;

function parseArgs(argv) {
  const opts = { command: null, only: [], quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') opts.only.push(...(argv[++i] ?? '').split(','));
    else if (a.startsWith('--only=')) opts.only.push(...a.slice(7).split(','));
    else if (a === '--quiet' || a === '-q') opts.quiet = true;
    else if (a === '-h' || a === '--help') opts.command = 'help';
    else if (!opts.command) opts.command = a;
    else throw new Error(`unexpected argument "${a}"`);
  }
  opts.only = opts.only.map((s) => s.trim()).filter(Boolean);
  return opts;
}

async function main() {
  const { command, only, quiet } = parseArgs(process.argv.slice(2));
  switch (command) {
    case 'start': return cmdStart(only, { quiet });
    case 'up': return cmdUp(only, { quiet });
    case 'down': return cmdDown(only);
    case 'status': return cmdStatus(only);
    case 'help': console.log(USAGE); return 0;
    default: console.error(USAGE); return 2;
  }
}

main().then(
  (code) => process.exit(code ?? 0),
  (err) => { console.error(`[stack] ERROR: ${err.message}`); process.exit(1); },
);
