// Usage: node wait-for-http.mjs <url> [timeoutSeconds]
// Exits 0 once GET <url> answers 200, 1 after the timeout. timeoutSeconds 0 = try once (healthchecks).
const [url, timeoutArg = '0'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node wait-for-http.mjs <url> [timeoutSeconds]');
  process.exit(2);
}
const deadline = Date.now() + Number(timeoutArg) * 1000;

async function ok() {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

for (;;) {
  if (await ok()) {
    if (timeoutArg !== '0') console.log(`${url} is up`);
    process.exit(0);
  }
  if (Date.now() >= deadline) {
    console.error(`${url} did not answer 200 within ${timeoutArg} s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 2000));
}
