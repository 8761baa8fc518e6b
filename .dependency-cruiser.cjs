/**
 * The layering rule (docs/architecture.md): src's folders in one order, top to bottom, and imports
 * only point down it (or stay inside a folder). No cycles anywhere, between files or between folders.
 * Run by `npm run deps` and by scripts/test's checks, so CI fails on a cycle or an upward import.
 */
const layers = [
  'cli', // the `mwingest` command and its subcommands
  'demo', // `mwingest demo`: traffic for a local try-out
  'ops', // status, metrics, the web view
  'scheduler', // the hourly schedule, run flows on BullMQ, workers, a whole run in one process
  'upgrade', // the schema upgrade checklist
  'ingest', // the run's pieces, the per-partition task, commit protocol, state store, announcer
  'hive', // DDL, the Hive client, the partition-add queue and its worker
  'job', // the job definition, leases, openJobContext (opens what a command needs)
  'writers', // Avro container and Parquet writers, error files
  'kafka', // bounded reads of a partition range, watermarks, admin
  'hours', // hour buckets, path templates, timestamps, the completeness rule
  'schemas', // registry, revision ids, header, body check, codec, compatibility (a leaf)
  'hdfs', // the FileSystem seam: WebHDFS and a local directory
];
const root = '^src/[^/]+\\.ts$'; // errors.ts, log.ts, listen.ts: below every folder

const upward = layers.map((layer, index) => ({
  name: `layer-${layer}`,
  comment: `src/${layer} may import only the folders below it: ${layers.slice(index + 1).join(', ')} (docs/architecture.md)`,
  severity: 'error',
  from: { path: `^src/${layer}/` },
  to: { path: index === 0 ? '^$' : `^src/(${layers.slice(0, index).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'an import cycle: break it by moving the shared piece down, or passing a callback from above',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: 'root-files-import-no-folder',
      comment: 'src/errors.ts, src/log.ts and src/listen.ts sit below every folder',
      severity: 'error',
      from: { path: root },
      to: { path: '^src/[^/]+/' },
    },
    {
      name: 'folder-has-a-layer',
      comment: 'every src folder has a place in the layer list of .dependency-cruiser.cjs (and docs/architecture.md)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: [`^src/(${layers.join('|')})/`, root] },
    },
    {
      name: 'not-to-tests',
      comment: 'src does not import test code',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsConfig: { fileName: 'tsconfig.test.json' },
    // Type-only imports count: a cycle through types is still a cycle to a reader.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
