/**
 * CPU time of a process from /proc/<pid>/stat (utime + stime, all threads), in seconds.
 */
import { readFileSync } from 'node:fs';

const CLK_TCK = 100;

export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Fields after the command name, which may contain spaces, inside parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}
