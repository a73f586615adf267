import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * A modality as a PACS administrator knows one: DCMTK's storescu sends files, and whatever was not
 * answered with success (a failure status, an aborted or refused association) is sent again later,
 * until everything is acknowledged or the deadline passes. It records exactly which files the node
 * acknowledged with success, because that is the node's promise to keep.
 */

export interface SendRecord {
  /** Files answered with Success (0x0000), at least once. */
  acknowledged: Set<string>;
  /** Every non-success answer or broken association seen, as text, for the report. */
  failures: string[];
  /** storescu runs (associations attempted). */
  attempts: number;
}

export interface SendOptions {
  port: number;
  calledAe?: string;
  /** Called after each success with the number acknowledged so far in this call (to time faults). */
  onAcknowledged?: (count: number) => void;
  /** Give up re-sending after this long (ms). */
  deadlineMs: number;
  /** Wait between rounds of re-sending (ms). */
  retryDelayMs?: number;
  /** storescu's DIMSE and ACSE timeouts (s): a node that hangs is given up on, as a modality would. */
  timeoutSeconds?: number;
}

const SENDING = /Sending file: (.+)$/;
const RESPONSE = /Received Store Response \(([^)]*)\)/;

/** One storescu association over `files`; resolves with the files answered with success. */
export function storescuOnce(files: string[], options: SendOptions, record: SendRecord): Promise<void> {
  const timeout = String(options.timeoutSeconds ?? 20);
  const args = ['-v', '-aec', options.calledAe ?? 'FACADE', '-aet', 'FAULT_SCU', '-to', timeout, '-ta', timeout, '-td', timeout, 'localhost', String(options.port), ...files];
  record.attempts += 1;
  return new Promise((resolve) => {
    const child = spawn('storescu', args, { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let current: string | undefined;
    const onLine = (line: string): void => {
      const sending = SENDING.exec(line);
      if (sending?.[1]) {
        current = sending[1].trim();
        return;
      }
      const response = RESPONSE.exec(line);
      if (response && current) {
        if (response[1] === 'Success') {
          record.acknowledged.add(current);
          options.onAcknowledged?.(record.acknowledged.size);
        } else {
          record.failures.push(response[1] ?? 'unknown status');
        }
        current = undefined;
      } else if (/^E: /.test(line)) {
        record.failures.push(line.slice(3).trim());
      }
    };
    // Each stream read by its own lines: storescu logs to stderr but writes its progress dots
    // ("XMIT: .") to stdout, and one shared buffer once glued them onto a file name.
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('close', () => resolve());
  });
}

/** Sends `files` until every one is acknowledged with success, or the deadline passes. */
export async function sendUntilAcknowledged(files: string[], options: SendOptions, record?: SendRecord): Promise<SendRecord> {
  const result = record ?? { acknowledged: new Set<string>(), failures: [], attempts: 0 };
  const deadline = Date.now() + options.deadlineMs;
  for (;;) {
    const left = files.filter((file) => !result.acknowledged.has(file));
    if (left.length === 0 || Date.now() > deadline) {
      return result;
    }
    await storescuOnce(left, options, result);
    if (files.some((file) => !result.acknowledged.has(file))) {
      await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 2000));
    }
  }
}
