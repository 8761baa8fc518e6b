/**
 * Named points in the commit protocol where the crash tests kill the process.
 *
 * `MWINGEST_CRASH_AT=<point>[@<n>]` makes the n-th (default first) pass through `<point>` send
 * SIGKILL to this very process — the same as an operator's `kill -9` or an OOM kill at that moment.
 * Unset (always, outside tests) it costs one comparison.
 */
export const FailPoints = [
  'reading', // after a batch was read and written into temp files
  'files-closed', // every temp file closed, no manifest yet
  'manifest-written', // write-ahead manifest claimed, no file renamed yet
  'renamed-one', // after the first data file was renamed
  'renamed-all', // every file renamed, offsets not yet written
  'offsets-written', // offsets written, temp dir not yet cleaned
  'imported-written', // an hour's _IMPORTED written, its Hive job not yet queued
  'announced', // completeness state saved
] as const;

export type FailPoint = (typeof FailPoints)[number];

const setting = process.env.MWINGEST_CRASH_AT;
const [armedPoint, armedCount] = parseSetting(setting);
let passes = 0;

function parseSetting(value: string | undefined): [string | undefined, number] {
  if (value === undefined || value === '') return [undefined, 0];
  const [point, count] = value.split('@');
  return [point, count === undefined ? 1 : Number(count)];
}

export function failPoint(point: FailPoint): void {
  if (armedPoint !== point) return;
  passes += 1;
  if (passes === armedCount) {
    process.stderr.write(`mwingest: crash test: SIGKILL at ${point} (pass ${passes})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
