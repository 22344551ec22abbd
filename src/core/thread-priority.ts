// Background threads (the search index writer) run at a lower CPU priority than the event
// loop that answers clients, so under load deliveries and commands get the cores first and
// the background work catches up when they are idle. Linux schedules threads on their own:
// setpriority(2) with a thread id changes only that thread, and /proc/thread-self names the
// calling thread. Elsewhere, or when refused, the thread keeps the process's priority.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";

/** Raises this thread's nice value (0-19; higher runs later). False when not possible. */
export function lowerThreadPriority(nice: number): boolean {
  try {
    const tid = Number(readlinkSync("/proc/thread-self").split("/").pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    setPriority(tid, nice);
    return true;
  } catch {
    return false;
  }
}
