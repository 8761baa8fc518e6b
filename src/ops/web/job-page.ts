import type { JobStatus } from '../status.js';
import { type HourCellState, hourGrid } from './hour-grid.js';

/** The HTML page of one job: a summary, then hours × topics coloured by state. Server-rendered, no script. */
export function renderJobPage(
  status: JobStatus,
  options: { hours?: number; queuesPath: string; statusPath: string; refreshSeconds?: number },
): string {
  const grid = hourGrid(status, options.hours === undefined ? {} : { hours: options.hours });
  const last = status.lastRuns;
  const run = status.currentRun;
  const lag = status.topics.reduce((sum, t) => sum + BigInt(t.lag), 0n);
  const summary: [string, string][] = [
    [
      'Schedule',
      status.schedule === null
        ? '<span class="bad">none registered — no run starts by itself</span>'
        : `${esc(status.schedule.pattern ?? '?')} (${esc(status.schedule.tz ?? 'UTC')}), next tick ${esc(status.schedule.next ?? '?')}`,
    ],
    [
      'Run in progress',
      run === null
        ? 'none'
        : `${esc(run.runId)} (${esc(run.state)}): ${run.tasks.done} task(s) done, ${run.tasks.failed} failed, ${run.tasks.remaining} to go`,
    ],
    [
      'Last run',
      last.lastRunId === undefined
        ? 'none recorded'
        : `<span class="${last.lastStatus === 'succeeded' ? 'good' : 'bad'}">${esc(String(last.lastStatus))}</span> ` +
          `${esc(last.lastRunId)} at ${esc(last.lastFinishedAt ?? '?')} in ${((last.lastDurationMs ?? 0) / 1000).toFixed(1)} s`,
    ],
    [
      'Last successful run',
      last.lastSuccessAt === undefined ? '<span class="bad">never</span>' : `${esc(last.lastSuccessAt)}`,
    ],
    [
      'Skipped ticks',
      last.skippedTicks === 0 ? '0' : `${last.skippedTicks} (last at ${esc(last.lastSkippedAt ?? '?')})`,
    ],
    [
      'Lag',
      `${lag} message(s) over ${status.topics.reduce((n, t) => n + t.partitions.length, 0)} partition(s)`,
    ],
  ];
  const problems = [...(last.lastStatus === 'failed' ? (last.lastProblems ?? []) : []), ...status.problems];

  const head = grid.topics
    .map((topic) => {
      const t = status.topics.find((s) => s.topic === topic)!;
      return (
        `<th scope="col"><div class="topic">${esc(topic)}</div>` +
        `<div class="sub">lag ${esc(t.lag)} · complete through ${esc(t.lastCompleteHour ?? '—')} · ${t.hoursPendingCompleteness} h pending</div></th>`
      );
    })
    .join('');
  const rows = grid.hours
    .map((hour) => {
      const cells = grid.topics
        .map((topic) => {
          const cell = grid.cells.get(topic)!.get(hour)!;
          const marks = [
            cell.late > 0 ? `+${cell.late} late` : '',
            cell.waitingFor === 'hive'
              ? 'hive add queued'
              : cell.waitingFor === 'completeness'
                ? 'not complete'
                : '',
            cell.state === 'failed' ? 'hive add failed' : '',
          ].filter((mark) => mark !== '');
          const text =
            cell.state === 'empty'
              ? ''
              : `${cell.records}${marks.map((mark) => ` <small>${mark}</small>`).join('')}`;
          return `<td class="cell ${cell.state}" data-topic="${esc(topic)}" data-hour="${esc(hour)}" data-state="${cell.state}" title="${esc(`${hour} ${topic}: ${cell.detail}`)}">${text}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(hour.replace('T', ' '))}:00</th>${cells}</tr>`;
    })
    .join('\n');
  const legend = (['complete', 'pending', 'late', 'failed', 'empty'] as HourCellState[])
    .map((state) => `<span class="cell ${state} key">${state} (${grid.totals[state]})</span>`)
    .join(' ');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${options.refreshSeconds ?? 30}">
<title>mwingest · ${esc(status.job)}</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.4em; margin: 0 0 .3em; } a { color: #0645ad; }
  table.summary td, table.summary th { text-align: left; padding: 2px 12px 2px 0; font-weight: normal; }
  table.summary th { color: #555; }
  .good { color: #14866d; font-weight: 600; } .bad { color: #b32424; font-weight: 600; }
  table.grid { border-collapse: collapse; margin-top: 1em; }
  table.grid th, table.grid td { border: 1px solid #ccc; padding: 3px 8px; }
  table.grid th[scope=row] { font-family: monospace; font-weight: normal; white-space: nowrap; }
  .topic { font-family: monospace; } .sub { font-size: 11px; color: #555; font-weight: normal; }
  td.cell { text-align: right; min-width: 7em; font-variant-numeric: tabular-nums; }
  .complete { background: #d5fdf4; } .pending { background: #fef6e7; } .late { background: #eaf3ff; }
  .failed { background: #fee7e6; color: #b32424; font-weight: 600; } .empty { background: #fafafa; }
  .key { display: inline-block; padding: 2px 8px; border: 1px solid #ccc; margin-right: 4px; }
  ul.problems { color: #b32424; }
</style></head>
<body>
<h1>Job <code>${esc(status.job)}</code></h1>
<p>As of ${esc(status.at)} · <a href="${esc(options.queuesPath)}">queues (bull-board)</a> · <a href="${esc(options.statusPath)}">status.json</a></p>
<table class="summary">${summary.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
${problems.length === 0 ? '' : `<ul class="problems">${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>`}
<p>${legend}</p>
<table class="grid" id="hours">
<thead><tr><th>hour (UTC)</th>${head}</tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
