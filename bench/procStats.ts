// CPU time of processes and threads, and the machine's, from /proc (Linux): figures that hold on a
// shared, noisy machine where rates do not.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux clock ticks per second of /proc CPU times (USER_HZ, 100 on Linux/x86-64). */
export const CLOCK_TICKS = 100;

/** CPU ms (user + system) of each thread of a process, by thread name (/proc/<pid>/task/<tid>/comm). */
export function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      byName.set(name, (byName.get(name) ?? 0) + ms);
    } catch {
      // the thread ended between listing and reading
    }
  }
  return byName;
}

/** CPU ms (user + system) of a whole process. */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Machine-wide CPU ticks from /proc/stat: all, and stolen by the hypervisor (a VM waiting for its host). */
export function machineTicks(): { total: number; steal: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user/nice)
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, steal: fields[7] ?? 0 };
}

/**
 * CPU ms (user + system) of every live process whose process group is one of `groups`, by group: a
 * container of the pod runner is a process group (its command and whatever that started).
 */
export function processGroupCpuMs(groups: ReadonlySet<number>): Map<number, number> {
  const byGroup = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp ... utime(14) stime(15): fields after the closing parenthesis.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const group = Number(fields[2]);
      if (!groups.has(group)) continue;
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
      byGroup.set(group, (byGroup.get(group) ?? 0) + ms);
    } catch {
      // the process ended between listing and reading
    }
  }
  return byGroup;
}
