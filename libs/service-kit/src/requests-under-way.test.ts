import type { Server } from 'node:http';
import express from 'express';
import { RequestsUnderWay } from './requests-under-way';

/** A server whose `/slow` answers when the test says so, behind the tracker. */
async function serve(requests: RequestsUnderWay) {
  const answers: Array<() => void> = [];
  const app = express();
  app.use(requests.track);
  app.get('/slow', (_req, res) => {
    answers.push(() => res.status(requests.closing ? 299 : 200).send('done'));
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  const arrived = async (count: number) => {
    while (answers.length < count) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  return { url: `http://127.0.0.1:${port}/slow`, answers, arrived, close: () => new Promise((resolve) => server.close(resolve)) };
}

describe('requests under way at a stop', () => {
  test('close waits until the requests under way are answered, and from then on the routes know the server is closing', async () => {
    const requests = new RequestsUnderWay();
    const server = await serve(requests);
    const responses = [fetch(server.url), fetch(server.url)];
    await server.arrived(2);

    let closed = false;
    const closing = requests.close(10_000).then(() => (closed = true));
    expect(requests.closing).toBe(true);
    await expect(requests.readiness.probe()).rejects.toThrow('stopping');
    // A request arriving now is not waited for (the routes answer it 503).
    const late = fetch(server.url);
    await server.arrived(3);
    server.answers[0]!();
    expect((await responses[0]!).status).toBe(299);
    expect(closed).toBe(false);
    server.answers[1]!();
    await closing;
    expect((await responses[1]!).status).toBe(299);
    server.answers[2]!();
    expect((await late).status).toBe(299);
    await server.close();
  });

  test('with nothing under way, close returns at once; a request that never ends does not hold it past its timeout', async () => {
    const requests = new RequestsUnderWay();
    await requests.close(60_000);

    const stuck = new RequestsUnderWay();
    const server = await serve(stuck);
    const controller = new AbortController();
    const response = fetch(server.url, { signal: controller.signal }).catch(() => 'aborted');
    await server.arrived(1);
    const started = Date.now();
    await stuck.close(50);
    expect(Date.now() - started).toBeLessThan(1_000);
    controller.abort();
    expect(await response).toBe('aborted');
    await server.close();
  });
});
