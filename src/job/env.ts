import { MwiError } from '../errors.js';

/**
 * `${env:NAME}` in job values: any string value of a job file may name environment variables, which
 * are substituted before the job is validated. `$${` stands for a literal `${`; any other `${` is
 * an error (a typo would otherwise reach a path or a password unnoticed). Numbers, booleans and
 * object keys are never substituted.
 *
 *   "url": "${env:MWINGEST_WEBHDFS_URL}"          the variable's value
 *   "user": "svc-${env:CLUSTER}"                   part of a value
 *   "pattern": "$${literal}"                       the text ${literal}
 */

/** One substitution: the key it was in and the variable it named. */
export interface EnvUse {
  key: string;
  variable: string;
  /** The variable's value (a secret: never print it). */
  value: string;
}

export interface ExpandedValue {
  value: unknown;
  uses: EnvUse[];
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}?/g;
const VARIABLE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Returns `value` with every `${env:NAME}` replaced, and what was replaced where. Every unset
 * (or empty) variable and every malformed `${…}` is reported in one `MWI_CONFIG_INVALID` that
 * names the key and the variable — never a value.
 */
export function expandEnv(
  value: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): ExpandedValue {
  const uses: EnvUse[] = [];
  const problems: string[] = [];
  const expandString = (text: string, key: string): string =>
    text.replace(REFERENCE, (match, inner: string | undefined) => {
      if (match === '$${') return '${';
      const variable = inner === undefined ? undefined : VARIABLE.exec(inner)?.[1];
      if (variable === undefined || !match.endsWith('}')) {
        problems.push(
          `${key}: "${match}" is not a substitution mwingest knows: write \${env:NAME} for an environment ` +
            'variable, or $${ for a literal ${',
        );
        return match;
      }
      const found = env[variable];
      if (found === undefined || found === '') {
        problems.push(
          `${key}: \${env:${variable}} names the environment variable ${variable}, which is not set or empty; ` +
            `export ${variable} with the value for ${key}, or write the value in the job file`,
        );
        return match;
      }
      uses.push({ key, variable, value: found });
      return found;
    });
  const walk = (node: unknown, key: string): unknown => {
    if (typeof node === 'string')
      return node.includes('${') ? expandString(node, key || '(top level)') : node;
    if (Array.isArray(node)) return node.map((item, index) => walk(item, `${key}[${index}]`));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([name, child]) => [
          name,
          walk(child, key === '' ? name : `${key}.${name}`),
        ]),
      );
    }
    return node;
  };
  const expanded = walk(value, '');
  if (problems.length > 0) {
    throw new MwiError(
      'MWI_CONFIG_INVALID',
      `${source} is not a valid job definition:\n${problems.map((p) => `  ${p}`).join('\n')}\n` +
        'See jobs/README.md, "Values from the environment".',
      {
        details: { source, keys: [...new Set(problems.map((p) => p.slice(0, p.indexOf(':'))))] },
      },
    );
  }
  return { value: expanded, uses };
}

/** `text` with each substituted value shown as the `${env:NAME}` it came from. */
export function hideEnvValues(text: string, uses: readonly EnvUse[]): string {
  let hidden = text;
  for (const use of [...uses].sort((a, b) => b.value.length - a.value.length)) {
    hidden = hidden.split(use.value).join(`\${env:${use.variable}}`);
  }
  return hidden;
}
