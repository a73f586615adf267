import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page, Request } from 'playwright-core';
import sharp from 'sharp';
import { eventually } from '../support/wait';

/**
 * The viewer's time to first image, for the bench: Debian Chromium (WebGL through SwiftShader)
 * opens a study's plain link, signs in, and waits for the viewport to show a picture (a region of
 * the canvas that is not flat). The browser's network log of each opening is kept, to
 * say where the time went (QIDO-RS, series metadata, frames, thumbnails).
 */

export interface RequestRecord {
  /** The DICOMweb resource, UIDs shortened: `/studies/…/series/…/metadata`. */
  kind: string;
  status: number | 'failed' | 'pending';
  ms: number;
  bytes: number;
}

export interface FirstImage {
  label: string;
  /** Seconds from `goto(link)` to the first non-blank viewport; NaN when it never came. */
  seconds: number;
  /** OHIF's own console measure, when it logs one. */
  ohifMs: number | undefined;
  requests: RequestRecord[];
  error?: string;
  /** When no image came: where the page was and what it said, and a screenshot's path. */
  page?: { url: string; text: string; screenshot: string };
}

const VIEWPORT = '.cornerstone-viewport-element, [data-viewport-uid]';

/** A URL's DICOMweb resource without its UIDs, so that requests group by kind. */
function kindOf(url: string): string {
  const { pathname } = new URL(url);
  return pathname.replace(/\/[0-9.]{8,}(?=\/|$)/g, '/…').replace(/\/frames\/[\d,]+/, '/frames/n');
}

/** Records every request of the page until `stop()`: its kind, status, duration and body size. */
function networkLog(page: Page): { stop: () => Promise<RequestRecord[]> } {
  const started = new Map<Request, number>();
  const done: Promise<RequestRecord>[] = [];
  const finish = (request: Request, failed: boolean) => {
    const at = started.get(request) ?? Date.now();
    const ms = Date.now() - at;
    done.push(
      (async () => {
        const response = failed ? null : await request.response().catch(() => null);
        const sizes = failed ? undefined : await request.sizes().catch(() => undefined);
        return { kind: kindOf(request.url()), status: failed ? 'failed' : (response?.status() ?? 0), ms, bytes: sizes?.responseBodySize ?? 0 } as RequestRecord;
      })(),
    );
    started.delete(request);
  };
  const onRequest = (request: Request) => started.set(request, Date.now());
  const onFinished = (request: Request) => finish(request, false);
  const onFailed = (request: Request) => finish(request, true);
  page.on('request', onRequest);
  page.on('requestfinished', onFinished);
  page.on('requestfailed', onFailed);
  return {
    stop: async () => {
      page.off('request', onRequest);
      page.off('requestfinished', onFinished);
      page.off('requestfailed', onFailed);
      const pending: RequestRecord[] = [...started.entries()].map(([request, at]) => ({ kind: kindOf(request.url()), status: 'pending', ms: Date.now() - at, bytes: 0 }));
      return [...(await Promise.all(done)), ...pending];
    },
  };
}

/** Whether the middle of the viewport shows a picture rather than a flat (black) canvas. */
async function imageDrawn(page: Page): Promise<boolean> {
  const box = await page.locator(VIEWPORT).first().boundingBox();
  if (!box || box.width < 8 || box.height < 8) return false;
  const shot = await page.screenshot({ clip: { x: box.x + box.width / 4, y: box.y + box.height / 4, width: box.width / 2, height: box.height / 2 } });
  const { data } = await sharp(shot).greyscale().raw().toBuffer({ resolveWithObject: true });
  const mean = data.reduce((sum, value) => sum + value, 0) / data.length;
  const spread = Math.sqrt(data.reduce((sum, value) => sum + (value - mean) ** 2, 0) / data.length);
  return spread > 10;
}

export interface ViewerBench {
  /** Opens `link` in a fresh browser context, signs in, and waits up to `timeoutMs` for the first image. */
  open: (label: string, link: string, timeoutMs: number) => Promise<FirstImage>;
  close: () => Promise<void>;
}

/**
 * Debian Chromium. Each opening is a fresh context, as a link opened from an EHR is: the viewer
 * sends it to the node's issuer, whose sign-in page is filled; the clock starts when the form is
 * sent (the development issuer keeps no session, so every new page signs in again).
 */
export async function startViewerBench(): Promise<ViewerBench> {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });

  const open = async (label: string, link: string, timeoutMs: number): Promise<FirstImage> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    let ohifMs: number | undefined;
    page.on('console', (message) => {
      const match = /studyToFirstImage: ([\d.]+) ms/.exec(message.text());
      if (match) ohifMs = Number(match[1]);
    });
    try {
      await page.goto(link);
      await page.waitForSelector('#user', { timeout: 60_000 });
      await page.fill('#user', 'clinician');
      await page.fill('#password', 'clinician');
      const log = networkLog(page);
      const started = Date.now();
      try {
        await page.click('button[type=submit]');
        await page.waitForSelector(VIEWPORT, { timeout: timeoutMs });
        await eventually(async () => ((await imageDrawn(page)) ? true : undefined), { timeoutMs: Math.max(1000, timeoutMs - (Date.now() - started)), intervalMs: 100, what: 'the first image' });
        const seconds = (Date.now() - started) / 1000;
        return { label, seconds, ohifMs, requests: await log.stop() };
      } catch (error) {
        const screenshot = path.join(mkdtempSync(path.join(tmpdir(), 'bench-viewer-')), 'no-image.png');
        await page.screenshot({ path: screenshot }).catch(() => undefined);
        const text = (await page.locator('body').innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 300);
        return { label, seconds: Number.NaN, ohifMs, requests: await log.stop(), error: (error as Error).message.split('\n')[0], page: { url: page.url(), text, screenshot } };
      }
    } finally {
      await context.close();
    }
  };
  return { open, close: () => browser.close() };
}

/** Requests grouped by kind: how many, their bytes, their slowest, and any not answered 2xx. */
export function summarize(requests: readonly RequestRecord[]): string[] {
  const groups = new Map<string, RequestRecord[]>();
  for (const record of requests) {
    // The viewer's own static files as one group.
    const kind = /\.(js|css|wasm|woff2?|svg|png|json|ico)$/.test(record.kind) ? 'the viewer\'s static files' : record.kind;
    groups.set(kind, [...(groups.get(kind) ?? []), record]);
  }
  return [...groups.entries()]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([kind, records]) => {
      const statuses = [...new Set(records.map((record) => String(record.status)))].join('/');
      const bytes = records.reduce((sum, record) => sum + record.bytes, 0);
      const slowest = Math.max(...records.map((record) => record.ms));
      return `  ${kind}: ${records.length}× [${statuses}], ${(bytes / 1e6).toFixed(2)} MB, slowest ${slowest} ms`;
    });
}
