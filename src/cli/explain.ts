import { Command } from 'commander';
import { openRunResources } from '../ingest/run.js';
import { buildTopicPlan } from '../ingest/topic-plan.js';
import { loadJob, topicMatcher } from '../job/config.js';
import { REDIS_URL_DEFAULT_HELP } from '../job/context.js';
import { createLogger } from '../log.js';
import { explainHour, formatExplanation, type TopicHourView } from '../ops/explain.js';
import { hourArgument } from './errors.js';

/** Exit codes of `mwingest explain`. */
export const ExplainExit = { complete: 0, failed: 1, usage: 2, notComplete: 3 } as const;

/** `mwingest explain HOUR`: why an hour is complete or not, per topic and partition. */
export function explainCommand(): Command {
  return new Command('explain')
    .summary(
      'why an hour is or is not complete: per partition its offsets, progress, files, late records and errors',
    )
    .argument('<hour>', 'the UTC hour, YYYY-MM-DDTHH, e.g. 2026-12-07T14', hourArgument)
    .requiredOption('-j, --job <file>', 'job definition, e.g. jobs/demo.json')
    .option('--topic <topic>', "only this topic (default: every topic the job's include/exclude match)")
    .option('--json', 'print the explanation as JSON (one object per topic)')
    .option('--redis <url>', `Redis (${REDIS_URL_DEFAULT_HELP})`)
    .addHelpText(
      'after',
      `
An hour is complete once every partition of its topic has moved past the hour's end: the newest record
time a partition committed, or, for a partition caught up with its log, now minus
completeness.idleGraceSeconds. The partitions marked ✗ hold the hour back. Files and their record
counts come from the hour's directory and the commits that wrote them; errors are the error records
whose Kafka timestamp is in the hour (mwingest errors list --hour … shows them).

Exit codes:
  0  the hour is complete (_IMPORTED written) for every topic shown
  1  the state or Kafka could not be read
  2  usage or job definition error
  3  the hour is not complete for some topic

Examples:
  mwingest explain 2026-12-07T14 --job jobs/demo.json
  mwingest explain 2026-12-07T14 --job jobs/demo.json --topic mediawiki_EditAttempt --json`,
    )
    .action(
      async (hour: string, options: { job: string; topic?: string; json?: boolean; redis?: string }) => {
        const loaded = await loadJob(options.job);
        const log = createLogger('mwingest-explain', process.env.MWINGEST_LOG_LEVEL ?? 'warn');
        const resources = await openRunResources(loaded, log, options.redis);
        try {
          const topics =
            options.topic !== undefined
              ? [options.topic]
              : (await resources.source.listTopics()).filter(topicMatcher(loaded.config)).sort();
          const views: TopicHourView[] = [];
          for (const topic of topics)
            views.push(await explainHour(resources, await buildTopicPlan(resources, topic), hour));
          process.stdout.write(
            `${options.json ? JSON.stringify(views, null, 2) : views.map(formatExplanation).join('\n\n') || 'no matching topics'}\n`,
          );
          process.exitCode = views.every((v) => v.complete) ? ExplainExit.complete : ExplainExit.notComplete;
        } finally {
          await resources.close();
        }
      },
    );
}
