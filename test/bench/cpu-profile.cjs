// Loaded with `node --require` (NODE_OPTIONS does not allow --cpu-prof): profiles the whole process
// and writes a .cpuprofile (Chrome DevTools / speedscope) into $BENCH_CPU_PROF_DIR when it exits.
const inspector = require('node:inspector');
const fs = require('node:fs');
const path = require('node:path');

const dir = process.env.BENCH_CPU_PROF_DIR;
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable');
session.post('Profiler.start');
process.on('exit', () => {
  // The in-process session answers synchronously, so this still runs before the process is gone.
  session.post('Profiler.stop', (error, result) => {
    if (!error && dir) {
      fs.mkdirSync(dir, { recursive: true });
      const name = `${path.basename(path.dirname(path.dirname(process.argv[1] ?? 'node')))}-${process.pid}.cpuprofile`;
      fs.writeFileSync(path.join(dir, name), JSON.stringify(result.profile));
    }
  });
});
