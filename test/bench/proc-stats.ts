import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

/** What the benches read of a process or of the machine from /proc: CPU time and resident memory. */

/** Linux's USER_HZ (`getconf CLK_TCK`), the unit of /proc's CPU times. */
const CLOCK_TICKS = 100;

/** CPU seconds a process (or one of its threads: `pid/task/tid`) has used so far, in user space and in the kernel, from /proc (10 ms resolution). */
export function cpuSeconds(pid: number | `${number}/task/${string}` | 'self'): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), counted from the state field: utime 12th, stime 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

/** CPU seconds (user and kernel together) a process has used so far. */
export function processCpuSeconds(pid: number): number {
  const { user, system } = cpuSeconds(pid);
  return user + system;
}

/**
 * CPU seconds the whole machine has used so far (all CPUs, outside idle and I/O wait), from
 * /proc/stat: beside a process's own, where the rest of a send's CPU went (senders, kernel).
 */
export function machineCpuSeconds(): number {
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '')
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  return (user + nice + system + irq + softirq) / CLOCK_TICKS;
}

/** How long a send waited for a quiet machine, and whether it got one. */
export interface QuietWait {
  waitedSeconds: number;
  /** False: the machine stayed busier than asked until the wait's limit, and the send started all the same. */
  quiet: boolean;
}

/**
 * Resolves once the machine's CPUs were at most `busyAtMost` busy (a share of all of them) over one
 * window of `windowMs`, or after `limitMs`. A send timed just after a burst would otherwise share
 * the cores with what the burst left running (HAPI indexing and JIT-compiling, a peer's files
 * being removed), by chance, more for one peer than for another.
 */
export async function untilMachineQuiet({ busyAtMost = 0.15, windowMs = 500, limitMs = 20_000 } = {}): Promise<QuietWait> {
  const started = process.hrtime.bigint();
  const elapsedMs = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  for (;;) {
    const [used, from] = [machineCpuSeconds(), process.hrtime.bigint()];
    await sleep(windowMs);
    const capacity = (availableParallelism() * Number(process.hrtime.bigint() - from)) / 1e9;
    const quiet = (machineCpuSeconds() - used) / capacity <= busyAtMost;
    if (quiet || elapsedMs() >= limitMs) {
      return { waitedSeconds: elapsedMs() / 1000, quiet };
    }
  }
}

export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** Samples a process's resident memory every `everyMs` until stopped; the peak seen (MiB). */
export function rssSampler(pid: number, everyMs = 100): { stop: () => number } {
  let peak = rssMiB(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(peak, rssMiB(pid));
    },
  };
}

/**
 * CPU seconds the threads of a process whose names match `named` have used so far (e.g. a JVM's JIT
 * compilers, "C1 CompilerThre" and "C2 CompilerThre"). A thread that ended no longer counts: read
 * it over a window in which those threads live (the process's own total, `cpuSeconds`, keeps them).
 */
export function namedThreadsCpuSeconds(pid: number, named: RegExp): number {
  let seconds = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (named.test(readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim())) {
        const { user, system } = cpuSeconds(`${pid}/task/${task}`);
        seconds += user + system;
      }
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return seconds;
}
