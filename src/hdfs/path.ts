import { MwiError } from '../errors.js';

/**
 * Path rules shared by every `FileSystem`: absolute, `/`-separated, and valid on HDFS.
 * HDFS refuses names that are `.` or `..` or contain `:` (see `DFSUtil.isValidName`); the local
 * implementation refuses the same ones, so a path that works in a unit test works on the cluster
 * and `..` can never reach outside a local root.
 */

/**
 * Returns the canonical form of `path` (`//a/b/` → `/a/b`, root stays `/`).
 * Throws `MWI_FS_INVALID_PATH` for a relative path or a `.`, `..`, `:` or NUL in a name.
 */
export function normalizePath(path: string): string {
  if (!path.startsWith('/')) {
    throw invalid(path, 'it is not absolute; file system paths start with "/"');
  }
  const names = path.split('/').filter((name) => name !== '');
  for (const name of names) {
    if (name === '.' || name === '..') throw invalid(path, `it contains "${name}"; write the resolved path`);
    if (name.includes(':')) throw invalid(path, 'HDFS does not allow ":" in file and directory names');
    if (name.includes('\0')) throw invalid(path, 'it contains a NUL character');
  }
  return `/${names.join('/')}`;
}

/** `joinPath('/a', 'b/c', 'd')` → `/a/b/c/d`, normalised and checked like {@link normalizePath}. */
export function joinPath(base: string, ...names: string[]): string {
  return normalizePath([base, ...names].join('/'));
}

/** The parent of a normalised path; the parent of `/` is `/`. */
export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** The last name of a normalised path; `''` for `/`. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `path` is `ancestor` or lies below it (both normalised). */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  return path === ancestor || ancestor === '/' || path.startsWith(`${ancestor}/`);
}

/** Orders names by their UTF-8 bytes, the order in which HDFS lists a directory. */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function invalid(path: string, why: string): MwiError {
  return new MwiError('MWI_FS_INVALID_PATH', `invalid file system path ${JSON.stringify(path)}: ${why}`, {
    details: { path },
  });
}
