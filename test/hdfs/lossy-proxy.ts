import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Network fault injection for integration tests, in front of the REAL NameNode and DataNode:
 * every request is forwarded unchanged; a request matching a planned rule is carried out by
 * HDFS, but its answer is thrown away and the client's connection cut — the "lost answer" that
 * makes retrying a non-idempotent call dangerous. A hook can also run just before a request is
 * forwarded (to create a competing file in that instant). DataNode redirects in the NameNode's answers
 * are rewritten to go through the DataNode proxy, so both steps of CREATE/APPEND pass through.
 */
export interface LostAnswerRule {
  /** Which proxy: the NameNode's or the DataNode's. */
  to: 'namenode' | 'datanode';
  /** e.g. `CREATE`, `APPEND`, `RENAME`, `DELETE`. */
  op: string;
  /** How many matching requests lose their answer. @defaultValue 1 */
  times?: number;
}

export class LossyProxy {
  /** Requests seen, as `namenode PUT CREATE /path`. */
  readonly seen: string[] = [];
  private rules: (LostAnswerRule & { left: number })[] = [];
  private hooks: { to: string; op: string; run: () => Promise<void>; left: number }[] = [];
  private servers: Server[] = [];
  private dataNodePort = 0;
  nameNodeUrl = '';

  static async start(nameNodeUrl: string): Promise<LossyProxy> {
    const proxy = new LossyProxy();
    const nn = new URL(nameNodeUrl);
    const dataNode = await proxy.listen('datanode', () => undefined);
    proxy.dataNodePort = dataNode;
    const nameNodePort = await proxy.listen('namenode', () => ({ host: nn.hostname, port: Number(nn.port) }));
    proxy.nameNodeUrl = `http://127.0.0.1:${nameNodePort}`;
    return proxy;
  }

  loseAnswer(rule: LostAnswerRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Runs `run` before forwarding the next matching request (e.g. to create a competing file). */
  beforeForwarding(to: 'namenode' | 'datanode', op: string, run: () => Promise<void>): void {
    this.hooks.push({ to, op, run, left: 1 });
  }

  async close(): Promise<void> {
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  }

  /** Where DataNode requests really go: learned from the NameNode's redirects. */
  private dataNodeTarget: { host: string; port: number } | undefined;

  private async listen(
    role: 'namenode' | 'datanode',
    fixedTarget: () => { host: string; port: number } | undefined,
  ) {
    const server = createServer((req, res) => {
      const target = fixedTarget() ?? this.dataNodeTarget;
      const url = new URL(req.url ?? '/', 'http://proxy');
      const op = (url.searchParams.get('op') ?? '').toUpperCase();
      this.seen.push(
        `${role} ${req.method} ${op} ${decodeURIComponent(url.pathname.replace('/webhdfs/v1', ''))}`,
      );
      if (target === undefined) {
        res.writeHead(502).end('no DataNode known yet');
        return;
      }
      const rule = this.rules.find((r) => r.to === role && r.op === op && r.left > 0);
      if (rule) rule.left -= 1;
      const hook = this.hooks.find((h) => h.to === role && h.op === op && h.left > 0);
      if (hook) hook.left -= 1;
      req.pause();
      (hook?.run() ?? Promise.resolve()).then(
        () => forward(),
        (error: Error) => res.destroy(error),
      );
      const forward = () => {
        const upstream = request(
          { host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            const chunks: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => chunks.push(chunk));
            answer.on('end', () => {
              if (rule) {
                req.socket.destroy(); // HDFS did it; the client never hears
                return;
              }
              let body: Buffer = Buffer.concat(chunks);
              if (role === 'namenode') body = this.rewriteRedirect(body);
              const headers = { ...answer.headers };
              if (typeof headers.location === 'string')
                headers.location = this.rewriteLocation(headers.location);
              if (headers['content-length'] !== undefined) headers['content-length'] = String(body.length);
              res.writeHead(answer.statusCode ?? 502, headers).end(body);
            });
          },
        );
        // The DataNode sends `100 Continue` before its final answer; pass it on.
        upstream.on('continue', () => res.writeContinue());
        upstream.on('error', (error) => res.destroy(error));
        upstream.flushHeaders(); // a streaming client waits for the DataNode's 100 before sending
        req.pipe(upstream);
        req.resume();
      };
    });
    this.servers.push(server);
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return (server.address() as AddressInfo).port;
  }

  private rewriteRedirect(body: Buffer): Buffer {
    const text = body.toString('utf8');
    if (!text.includes('"Location"')) return body;
    const parsed = JSON.parse(text) as { Location: string };
    return Buffer.from(JSON.stringify({ Location: this.rewriteLocation(parsed.Location) }));
  }

  private rewriteLocation(location: string): string {
    const url = new URL(location);
    if (url.protocol !== 'http:') return location;
    this.dataNodeTarget = { host: url.hostname, port: Number(url.port) };
    url.host = `127.0.0.1:${this.dataNodePort}`;
    return url.toString();
  }
}
