import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { isMwiError } from '../../src/errors.js';
import { createHiveClient, parseHiveAddress } from '../../src/hive/client.js';

describe('parseHiveAddress', () => {
  test('host and port; the port defaults to 10000', () => {
    assert.deepEqual(parseHiveAddress('an-coord1001.eqiad.wmnet:10000'), {
      host: 'an-coord1001.eqiad.wmnet',
      port: 10000,
    });
    assert.deepEqual(parseHiveAddress('127.0.0.1'), { host: '127.0.0.1', port: 10000 });
    assert.deepEqual(parseHiveAddress('[::1]:10001'), { host: '::1', port: 10001 });
  });

  test('refuses what is not host:port', () => {
    for (const bad of ['', 'host:', 'host:0', 'host:70000', 'jdbc:hive2://host:10000', 'a b:1']) {
      assert.throws(
        () => parseHiveAddress(bad),
        (error) => isMwiError(error, 'MWI_CONFIG_INVALID'),
        bad,
      );
    }
  });
});

/** A TCP server on loopback that does `onConnection` with each socket (no HiveServer2 protocol). */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return { server, port: address.port };
}

describe('connection failures are retryable MWI_HIVE errors', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  after(() => {
    for (const socket of sockets) socket.destroy();
    for (const server of servers) server.close();
  });

  test('nothing listening', async () => {
    const { server, port } = await tcpServer(() => {});
    server.close(); // the port is now free: connections are refused
    await once(server, 'close');
    const client = createHiveClient({ port, connectTimeoutMs: 2000 });
    await assert.rejects(
      client.execute('SHOW DATABASES'),
      (error) =>
        isMwiError(error, 'MWI_HIVE') &&
        error.canRetry &&
        error.message.includes(`cannot open a HiveServer2 session at 127.0.0.1:${port}`) &&
        /ECONNREFUSED/.test(error.message),
    );
    await client.close();
  });

  test('a server that accepts and hangs up', async () => {
    const { server, port } = await tcpServer((socket) => socket.destroy());
    servers.push(server);
    const client = createHiveClient({ port, connectTimeoutMs: 2000 });
    const started = Date.now();
    await assert.rejects(
      client.execute('SHOW DATABASES'),
      (error) => isMwiError(error, 'MWI_HIVE') && error.canRetry,
    );
    assert.ok(Date.now() - started < 2500, 'fails by the connect timeout at the latest');
    await client.close();
  });

  test('a server that never answers: the connect timeout ends the wait', async () => {
    const { server, port } = await tcpServer((socket) => sockets.push(socket));
    servers.push(server);
    const client = createHiveClient({ port, connectTimeoutMs: 300 });
    const started = Date.now();
    await assert.rejects(
      client.execute('SHOW DATABASES'),
      (error) => isMwiError(error, 'MWI_HIVE') && error.canRetry && /within 300 ms/.test(error.message),
    );
    assert.ok(Date.now() - started < 2000);
    await client.close();
  });
});
