/**
 * Named points in the commit protocol where the crash and fault tests stop the process.
 *
 * `MWINGEST_CRASH_AT=<point>[@<n>]` makes the n-th (default first) pass through `<point>` send
 * SIGKILL to this very process — the same as an operator's `kill -9` or an OOM kill at that moment.
 * `MWINGEST_STOP_AT=<point>[@<n>]` sends SIGSTOP instead: the process freezes there, as in a long GC
 * pause, until a test sends SIGCONT. Unset (always, outside tests) each costs one comparison.
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

const crash = parseSetting(process.env.MWINGEST_CRASH_AT);
const stop = parseSetting(process.env.MWINGEST_STOP_AT);

function parseSetting(value: string | undefined): { point: string | undefined; nth: number; passes: number } {
  if (value === undefined || value === '') return { point: undefined, nth: 0, passes: 0 };
  const [point, count] = value.split('@');
  return { point, nth: count === undefined ? 1 : Number(count), passes: 0 };
}

export function failPoint(point: FailPoint): void {
  if (crash.point === point && ++crash.passes === crash.nth) {
    process.stderr.write(`mwingest: crash test: SIGKILL at ${point} (pass ${crash.passes})\n`);
    process.kill(process.pid, 'SIGKILL');
  }
  if (stop.point === point && ++stop.passes === stop.nth) {
    process.stderr.write(`${JSON.stringify({ msg: 'fault test: SIGSTOP', point, pass: stop.passes })}\n`);
    process.kill(process.pid, 'SIGSTOP');
  }
}
