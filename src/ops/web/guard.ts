import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * What keeps the web view from being a way into the queues:
 *
 * - **Host check.** A request whose `Host` header is not an address this server is reached at is
 *   refused (403). A page on another site that rebinds its own name to 127.0.0.1 (DNS rebinding) sends
 *   its own name as `Host`, so it never gets an answer.
 * - **Read-only unless asked.** Any request that can change something (every method but GET, HEAD
 *   and OPTIONS) is refused unless the server was started with changes allowed, and then only with the
 *   change token: `Authorization: Bearer <token>`, the `X-Mwingest-Token` header, or the cookie that
 *   `POST /unlock` sets for a browser (`SameSite=Strict`, so another site's page cannot send it).
 */
export interface WebGuardOptions {
  /** `host:port` names (lower case) a request's `Host` header may carry; read per request (the port is known once listening). */
  allowedHosts: () => ReadonlySet<string>;
  /** Whether state-changing requests are served at all. */
  allowChanges: boolean;
  /** The change token; required when `allowChanges`. */
  token?: string;
}

export const TOKEN_HEADER = 'x-mwingest-token';
export const TOKEN_COOKIE = 'mwingest_token';
export const UNLOCK_PATH = '/unlock';
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The `host:port` names a server bound to `host` answers to: the address itself, `localhost` for a
 * loopback one, the machine's name for a wildcard one (0.0.0.0, ::), and `extra` (e.g. a proxy's name).
 */
export function hostNames(host: string, port: number, extra: readonly string[] = []): Set<string> {
  const names = new Set([`${bracketed(host)}:${port}`.toLowerCase()]);
  const wildcard = host === '0.0.0.0' || host === '::';
  if (wildcard) names.add(`${hostname()}:${port}`.toLowerCase());
  if (wildcard || host === '127.0.0.1' || host === '::1' || host === 'localhost') {
    for (const loopback of ['localhost', '127.0.0.1', '[::1]']) names.add(`${loopback}:${port}`);
  }
  for (const name of extra) names.add((name.includes(':') ? name : `${name}:${port}`).toLowerCase());
  return names;
}

function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

export function hostGuard(options: Pick<WebGuardOptions, 'allowedHosts'>): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    const host = (request.headers.host ?? '').toLowerCase();
    const allowed = options.allowedHosts();
    if (allowed.has(host)) return next();
    response
      .status(403)
      .type('text')
      .send(
        `refused: this server answers to ${[...allowed].join(', ')}, not to Host "${host}". ` +
          'Open it by one of those addresses; behind a proxy, start `mwingest web` with --allowed-host <name>.\n',
      );
  };
}

export function changeGuard(options: Omit<WebGuardOptions, 'allowedHosts'>): RequestHandler {
  return (request: Request, response: Response, next: NextFunction) => {
    if (READ_METHODS.has(request.method)) return next();
    if (!options.allowChanges) {
      response
        .status(403)
        .type('text')
        .send(
          'refused: this web view is read-only. To retry, clean or remove queue entries, restart it with ' +
            '`mwingest web --allow-changes` and send the change token it names.\n',
        );
      return;
    }
    if (request.path === UNLOCK_PATH || tokenMatches(presentedToken(request), options.token)) return next();
    response
      .status(401)
      .type('text')
      .send(
        `refused: a change needs the change token (header "Authorization: Bearer <token>" or "${TOKEN_HEADER}", ` +
          `or unlock this browser at ${UNLOCK_PATH}).\n`,
      );
  };
}

/** `GET /unlock`: a form for the token; `POST /unlock`: sets the token cookie when it is right. */
export function unlockHandlers(options: Omit<WebGuardOptions, 'allowedHosts'>): {
  form: RequestHandler;
  submit: RequestHandler;
} {
  return {
    form: (_request, response) => {
      response
        .type('html')
        .send(
          options.allowChanges
            ? `<!doctype html><title>mwingest: unlock changes</title><form method="post" action="${UNLOCK_PATH}">` +
                '<label>change token <input name="token" type="password" autocomplete="off"></label> ' +
                '<button>unlock</button></form>'
            : '<!doctype html><title>mwingest</title><p>This web view is read-only (started without --allow-changes).</p>',
        );
    },
    submit: (request, response) => {
      const token = typeof request.body?.token === 'string' ? request.body.token : undefined;
      if (!tokenMatches(token, options.token)) {
        response.status(401).type('text').send('refused: that is not the change token of this server.\n');
        return;
      }
      response.cookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' });
      response.redirect(303, '/queues');
    },
  };
}

function presentedToken(request: Request): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length).trim();
  const header = request.headers[TOKEN_HEADER];
  if (typeof header === 'string') return header;
  return cookieValue(request.headers.cookie, TOKEN_COOKIE);
}

function cookieValue(cookies: string | undefined, name: string): string | undefined {
  for (const part of (cookies ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) {
      try {
        return decodeURIComponent(rest.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function tokenMatches(presented: string | undefined, token: string | undefined): boolean {
  if (presented === undefined || token === undefined || token === '') return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
