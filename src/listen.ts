import { once } from 'node:events';
import type { Server } from 'node:http';
import { describeError, MwiError } from './errors.js';

/**
 * Starts `server` listening and resolves once it does; a port in use or an address that cannot be
 * bound is `MWI_USAGE` naming what would have been served, where, and the flag to change.
 */
export async function listenOn(
  server: Server,
  host: string,
  port: number,
  what: string,
  flag: string,
): Promise<Server> {
  server.listen(port, host);
  try {
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => Promise.reject(error)),
    ]);
  } catch (error) {
    throw new MwiError(
      'MWI_USAGE',
      `cannot serve ${what} on ${host}:${port}: ${describeError(error)}; choose another ${flag}`,
      {
        cause: error,
      },
    );
  }
  return server;
}
