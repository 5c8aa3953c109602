/**
 * CPU time from /proc/<pid>/stat (proc(5)), in seconds: a process's own (utime + stime, all
 * threads), or what the children it has waited for used (cutime + cstime).
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** proc(5) field `n` (1-based: utime is 14) of /proc/<pid>/stat, in seconds; NaN if unreadable. */
function statFields(pid: number | 'self', ...ns: number[]): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name (field 2), which may contain spaces, inside parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ns.reduce((sum, n) => sum + Number(rest[n - 3]), 0) / CLK_TCK;
  } catch {
    return NaN;
  }
}

export function cpuSeconds(pid: number): number {
  return statFields(pid, 14, 15);
}

/** CPU time of this process's children that have exited and been reaped (a load generator run). */
export function childrenCpuSeconds(): number {
  return statFields('self', 16, 17);
}
