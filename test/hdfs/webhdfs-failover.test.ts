import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { WebHdfsFileSystem } from '../../src/hdfs/webhdfs.js';
import { registerCommonMetrics } from '../../src/ops/metrics.js';

/**
 * NameNode HA as the client sees it, against two local HTTP servers that answer as an active and a
 * standby NameNode do (the secure-profile integration tests use real ones).
 */
const servers: Server[] = [];

async function nameNode(state: { active: boolean; calls: number }): Promise<string> {
  const server = createServer((_request, response) => {
    state.calls += 1;
    response.setHeader('content-type', 'application/json');
    if (!state.active) {
      response.writeHead(403);
      response.end(
        JSON.stringify({
          RemoteException: {
            exception: 'StandbyException',
            javaClassName: 'org.apache.hadoop.ipc.StandbyException',
            message: 'Operation category READ is not supported in state standby',
          },
        }),
      );
      return;
    }
    response.end(
      JSON.stringify({ FileStatus: { pathSuffix: '', type: 'DIRECTORY', length: 0, modificationTime: 1 } }),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

after(() => {
  for (const server of servers) server.close();
});

describe('NameNode HA', () => {
  test('a StandbyException sends the call to the next NameNode, and later calls stay there; the metric follows', async () => {
    const first = { active: false, calls: 0 };
    const second = { active: true, calls: 0 };
    const urls = [await nameNode(first), await nameNode(second)];
    const registry = new Registry();
    const stop = registerCommonMetrics(registry, { processMetrics: false });
    const fs = new WebHdfsFileSystem({
      url: urls[0] as string,
      standbyUrls: [urls[1] as string],
      nameservice: 'test-ha',
      retry: { retries: 0 },
    });
    assert.equal((await fs.stat('/'))?.type, 'directory');
    assert.equal(fs.activeNameNode, urls[1]);
    await fs.stat('/');
    assert.deepEqual([first.calls, second.calls], [1, 2], 'the standby is asked once, then left alone');
    const metric = (await registry.getSingleMetric('mwingest_hdfs_namenode_active')?.get())?.values ?? [];
    const byNode = Object.fromEntries(metric.map((v) => [v.labels.namenode, v.value]));
    assert.deepEqual(byNode, { [urls[0] as string]: 0, [urls[1] as string]: 1 });

    // the other way round: the first becomes active, the second standby
    first.active = true;
    second.active = false;
    await fs.stat('/');
    assert.equal(fs.activeNameNode, urls[0]);
    stop();
  });

  test('when every NameNode is standby, the call fails with retryable MWI_HDFS_UNAVAILABLE', async () => {
    const urls = [await nameNode({ active: false, calls: 0 }), await nameNode({ active: false, calls: 0 })];
    const fs = new WebHdfsFileSystem({
      url: urls[0] as string,
      standbyUrls: [urls[1] as string],
      retry: { retries: 0 },
    });
    await assert.rejects(fs.stat('/'), (error: Error & { code?: string; canRetry?: boolean }) => {
      assert.equal(error.code, 'MWI_HDFS_UNAVAILABLE');
      assert.equal(error.canRetry, true);
      assert.match(error.message, /standby/);
      return true;
    });
  });
});
