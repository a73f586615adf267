// "Install what is missing": each installer has a cheap `needed()` check and an `install()`.
// Components list the installers they need; the stack runs each needed one once, in table order.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, DEPLOY_LOCAL } from './env.mjs';
import { run, runOrThrow } from './exec.mjs';
import { KAFKA_DIR, KAFKA_MARKER_JAR, KAFKA_VERSION } from './kafka.mjs';

export const PNPM_FALLBACK_VERSION = '10.34.8';
export const HAPI_DIR = path.join(DEPLOY_LOCAL, 'hapi');
export const HAPI_JAR = path.join(HAPI_DIR, 'target', 'facade-hapi.jar');

const mtime = (p) => { try { return fs.statSync(p).mtimeMs; } catch { return -1; } };

/** Newest mtime of the files under `dir`, skipping build output and dependencies. */
function newestUnder(dir) {
  let newest = -1;
  let entries;
  try { entries = fs.readdirSync(dir, { withFileTypes: true }); } catch { return newest; }
  for (const e of entries) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestUnder(p) : mtime(p));
  }
  return newest;
}

const workspaceDirs = (group) => {
  const base = path.join(REPO_ROOT, group);
  try {
    return fs.readdirSync(base, { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(base, e.name, 'package.json')))
      .map((e) => path.join(base, e.name));
  } catch { return []; }
};

// ---------------------------------------------------------------- pnpm
let pnpmRunner = null; // [cmd, prefixArgs] once one has answered

/**
 * corepack's pnpm, or npx's when corepack cannot fetch it (older corepacks fail to verify newer
 * pnpm signatures). Chosen once by asking for the version, so that a failing build is reported as
 * such instead of being retried with the other runner.
 */
async function pnpmRunnerFor(env) {
  if (pnpmRunner) return pnpmRunner;
  for (const runner of [['corepack', ['pnpm']], ['npx', ['--yes', `pnpm@${PNPM_FALLBACK_VERSION}`]]]) {
    const { code } = await run(runner[0], [...runner[1], '--version'], { cwd: REPO_ROOT, env, capture: true }).catch(() => ({ code: 1 }));
    if (code === 0) return (pnpmRunner = runner);
    process.stdout.write(`[stack] ${runner[0]} could not run pnpm; trying the next way…\n`);
  }
  throw new Error(`neither corepack nor npx could run pnpm ${PNPM_FALLBACK_VERSION}`);
}

async function pnpm(args, env) {
  const envP = { ...env, COREPACK_ENABLE_DOWNLOAD_PROMPT: '0' };
  // Native modules (better-sqlite3) build from source here: no prebuilt binary can be downloaded, and
  // node-gyp would download Node's headers too unless it is told where the installed ones are.
  if (envP.npm_config_nodedir === undefined && fs.existsSync('/usr/include/node/node.h')) envP.npm_config_nodedir = '/usr';
  const [cmd, pre] = await pnpmRunnerFor(envP);
  // The project's .npmrc silences npm (so `npm run token` prints the token alone); pnpm keeps its
  // own default level, which shows the build's errors.
  const { code } = await run(cmd, [...pre, '--loglevel=info', ...args], { cwd: REPO_ROOT, env: envP });
  if (code !== 0) throw new Error(`"pnpm ${args.join(' ')}" exited with ${code}`);
}

// ---------------------------------------------------------------- OHIF viewer
// @ohif/app ships its built viewer in dist/. It is not installed as a dependency (its own
// dependencies are not all published for this version): its tarball is fetched, checked against the
// integrity pinned here, and unpacked under the data directory, where the dicomweb service serves it.
export const OHIF_VERSION = '3.13.2';
const OHIF_INTEGRITY = 'sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA==';
export const ohifDir = (env) => path.join(env.FACADE_DATA_DIR, 'ohif');

async function installOhif(env) {
  fs.mkdirSync(env.FACADE_DATA_DIR, { recursive: true });
  const work = fs.mkdtempSync(path.join(env.FACADE_DATA_DIR, '.ohif-'));
  try {
    await runOrThrow('npm', ['pack', `@ohif/app@${OHIF_VERSION}`, '--pack-destination', work, '--loglevel=error'], { cwd: work, env });
    const tarball = fs.readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack produced no tarball');
    const digest = `sha512-${crypto.createHash('sha512').update(fs.readFileSync(path.join(work, tarball))).digest('base64')}`;
    if (digest !== OHIF_INTEGRITY) throw new Error(`@ohif/app@${OHIF_VERSION}: integrity ${digest} is not the pinned one`);
    await runOrThrow('tar', ['-xzf', path.join(work, tarball), '-C', work, 'package/dist'], { cwd: work, env });
    fs.rmSync(ohifDir(env), { recursive: true, force: true });
    fs.mkdirSync(ohifDir(env), { recursive: true });
    fs.renameSync(path.join(work, 'package', 'dist'), path.join(ohifDir(env), 'dist'));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const MODULES_YAML = path.join(REPO_ROOT, 'node_modules', '.modules.yaml');
const INSTALL_STAMP = path.join(REPO_ROOT, 'node_modules', '.facade-install-stamp');
const LOCKFILE = path.join(REPO_ROOT, 'pnpm-lock.yaml');

export const installers = {
  'node-modules': {
    label: 'installing node modules (pnpm install --frozen-lockfile)…',
    // .modules.yaml is written by pnpm; our stamp also covers a workspace without dependencies.
    needed() {
      const installed = Math.max(mtime(MODULES_YAML), mtime(INSTALL_STAMP));
      return installed < 0 || mtime(LOCKFILE) > installed;
    },
    async install(env) {
      if (mtime(LOCKFILE) < 0) throw new Error(`no pnpm-lock.yaml in ${REPO_ROOT}: run "pnpm install" once to create it`);
      await pnpm(['install', '--frozen-lockfile'], env);
      fs.writeFileSync(INSTALL_STAMP, `${new Date().toISOString()}\n`);
    },
  },

  'node-build': {
    label: 'building TypeScript (pnpm -r build)…',
    needed() {
      const services = workspaceDirs('services');
      if (services.length === 0) return false; // nothing to build yet
      const sources = Math.max(
        ...[...services, ...workspaceDirs('packages'), ...workspaceDirs('libs')].map(newestUnder),
        ...['tsconfig.json', 'tsconfig.base.json', 'pnpm-lock.yaml'].map((f) => mtime(path.join(REPO_ROOT, f))),
      );
      const oldestMain = Math.min(...services.map((s) => mtime(path.join(s, 'dist', 'main.js'))));
      return oldestMain < 0 || oldestMain < sources;
    },
    install: (env) => pnpm(['-r', 'build'], env),
  },

  'kafka-jars': {
    label: `fetching Kafka ${KAFKA_VERSION} from Maven Central (first run only)…`,
    needed: () => !fs.existsSync(KAFKA_MARKER_JAR),
    install: (env) => runOrThrow('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', path.join(KAFKA_DIR, 'pom.xml'), 'package'], { cwd: REPO_ROOT, env }),
  },

  'ohif-viewer': {
    label: `fetching the OHIF viewer ${OHIF_VERSION} (its built dist/, from the npm registry; first run only)…`,
    needed: (env) => !fs.existsSync(path.join(ohifDir(env), 'dist', 'index.html')),
    install: (env) => installOhif(env),
  },

  'hapi-jar': {
    label: 'building the HAPI FHIR server jar with Maven (first run only, takes a few minutes)…',
    // Built again when the launcher's sources or pom are newer than the jar (a pull that changed them).
    needed: () => !fs.existsSync(HAPI_JAR) || newestMtimeMs([path.join(HAPI_DIR, 'pom.xml'), path.join(HAPI_DIR, 'src')]) > fs.statSync(HAPI_JAR).mtimeMs,
    async install(env) {
      const pom = path.join(HAPI_DIR, 'pom.xml');
      if (!fs.existsSync(pom)) throw new Error(`${path.relative(REPO_ROOT, pom)} does not exist yet`);
      await runOrThrow('mvn', ['-q', '-B', '-Dstyle.color=never', '-f', pom, '-DskipTests', 'package'], { cwd: REPO_ROOT, env });
      if (!fs.existsSync(HAPI_JAR)) throw new Error(`Maven finished but ${path.relative(REPO_ROOT, HAPI_JAR)} was not produced`);
    },
  },
};

/** The latest modification time among these files and everything under these directories. */
function newestMtimeMs(paths) {
  let newest = 0;
  for (const entry of paths) {
    if (!fs.existsSync(entry)) continue;
    const stat = fs.statSync(entry);
    newest = Math.max(newest, stat.mtimeMs);
    if (stat.isDirectory()) {
      newest = Math.max(newest, newestMtimeMs(fs.readdirSync(entry).map((name) => path.join(entry, name))));
    }
  }
  return newest;
}

/** Runs every needed installer among `names` (deduplicated, in order). */
export async function installMissing(names, env, log) {
  for (const name of [...new Set(names)]) {
    const inst = installers[name];
    if (!inst) throw new Error(`unknown installer "${name}"`);
    if (!inst.needed(env)) continue;
    log(inst.label);
    const t0 = Date.now();
    await inst.install(env);
    log(`  done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
