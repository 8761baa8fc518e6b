import { MultiBar, Presets } from 'cli-progress';
import type { RunPlan } from '../ingest/run.js';

/**
 * The ingest's progress bar on a terminal (stderr): messages read of the run's backlog, rate and
 * time left. Without `enabled` (no terminal, --json, --no-progress) it draws nothing.
 */
export interface IngestProgress {
  onPlanned(plan: RunPlan): void;
  onProgress(records: number): void;
  stop(): void;
}

export function ingestProgress(enabled: boolean): IngestProgress {
  const bars = enabled
    ? new MultiBar(
        {
          format: ' {bar} {percentage}% | {value}/{total} messages | {rate} msg/s | {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        Presets.shades_classic,
      )
    : undefined;
  let bar: ReturnType<MultiBar['create']> | undefined;
  let read = 0;
  const started = Date.now();
  return {
    onPlanned(plan) {
      bar = bars?.create(Number(plan.backlog), 0, { rate: 0 });
    },
    onProgress(records) {
      read += records;
      bar?.update(read, { rate: Math.round((read * 1000) / Math.max(1, Date.now() - started)) });
    },
    stop() {
      bars?.stop();
    },
  };
}
