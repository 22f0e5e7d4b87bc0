// Peak memory of a child process, read from /proc (VmHWM is the kernel's high-water mark of
// its resident set), sampled so that the figure is there even after the process has exited.
import { readFileSync } from 'node:fs';

export interface PeakRss {
  /** Highest VmHWM seen, in MB. */
  peakMb(): number;
  stop(): void;
}

export function samplePeakRss(pid: number, everyMs = 50): PeakRss {
  let peakKb = 0;
  const sample = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch { /* exited */ }
  };
  const timer = setInterval(sample, everyMs);
  return { peakMb: () => peakKb / 1024, stop: () => clearInterval(timer) };
}
