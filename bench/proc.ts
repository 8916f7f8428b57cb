// Linux /proc readers for the processes under test (orlojd, baseline, generators).
import { readdirSync, readFileSync } from 'node:fs';

/** Peak resident set (VmHWM) in MB, or undefined when the process is gone. */
export function peakRssMb(pid: number): number | undefined {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+)\s+kB/m);
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

// USER_HZ is 100 on every Linux we target (getconf CLK_TCK).
const TICK_S = 0.01;

/** User + system CPU seconds the process has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_S;
  } catch {
    return undefined;
  }
}

/**
 * Samples a child's CPU time every 200 ms, since /proc forgets it at exit;
 * `stop()` returns the last sample (at most 200 ms short).
 */
export function trackCpu(pid: number): { stop(): number } {
  const first = cpuSeconds(pid) ?? 0;
  let last = first;
  const t = setInterval(() => (last = cpuSeconds(pid) ?? last), 200);
  return {
    stop() {
      clearInterval(t);
      last = cpuSeconds(pid) ?? last;
      return last - first;
    },
  };
}

/** CPU seconds all cores have spent busy since boot (/proc/stat), to spot other load on the machine. */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal. Idle and iowait are not busy; softirq is
  // left out because loopback packet processing for our own traffic lands there.
  const [user, nice, system, , , irq, , steal] = f;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (steal ?? 0)) * TICK_S;
}

/** CPU seconds of `pid` and its children now alive (a postmaster and its backends). */
export function treeCpuSeconds(pid: number): number {
  let total = cpuSeconds(pid) ?? 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) total += cpuSeconds(Number(entry)) ?? 0;
    } catch {
      // gone meanwhile
    }
  }
  return total;
}
