import type avro from 'avsc';

/**
 * JSON for decoded records. `JSON.stringify` throws on bigints (our longs beyond 2^53) and would
 * round them if converted to numbers; `stringifyJson` prints them as exact integer literals.
 * Other differences from JSON.stringify: non-finite numbers (Avro floats can be NaN or ±Infinity)
 * become the strings "NaN", "Infinity", "-Infinity" instead of a silent `null`, and byte arrays
 * become Avro-JSON strings (one char per byte, U+0000..U+00FF).
 */
export function stringifyJson(value: unknown, indent = 0): string {
  const parts: string[] = [];
  write(value, parts, indent > 0 ? ' '.repeat(indent) : '', '\n');
  return parts.join('');
}

function write(value: unknown, out: string[], step: string, newline: string): boolean {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return true;
    case 'bigint':
      out.push(value.toString());
      return true;
    case 'number':
      out.push(Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(String(value)));
      return true;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return true;
    case 'undefined':
    case 'function':
    case 'symbol':
      return false;
  }
  if (value === null) {
    out.push('null');
    return true;
  }
  if (value instanceof Uint8Array) {
    out.push(JSON.stringify(Buffer.from(value.buffer, value.byteOffset, value.length).toString('latin1')));
    return true;
  }
  const object = value as { toJSON?: () => unknown };
  if (typeof object.toJSON === 'function') return write(object.toJSON(), out, step, newline);
  const inner = step === '' ? '' : newline + step;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      out.push('[]');
      return true;
    }
    out.push('[');
    value.forEach((item, index) => {
      if (index > 0) out.push(',');
      out.push(inner);
      if (!write(item, out, step, newline + step)) out.push('null');
    });
    out.push(step === '' ? ']' : `${newline}]`);
    return true;
  }
  let first = true;
  out.push('{');
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
    out.push(first ? inner : `,${inner}`, JSON.stringify(key), step === '' ? ':' : ': ');
    write(item, out, step, newline + step);
    first = false;
  }
  out.push(first ? '}' : step === '' ? '}' : `${newline}}`);
  return true;
}

/**
 * A decoded value in Avro's JSON encoding (what avro-tools `fragtojson` prints): unions other
 * than null wrapped as `{"<branch>": value}`, bytes and fixed as strings of U+0000..U+00FF.
 */
export function toAvroJson(type: avro.Type, value: unknown): unknown {
  // avsc's `toString(value)` builds exactly this value and then calls JSON.stringify, which cannot
  // print bigints; `_copy` with coerce 3 is the step before it. Its records are still instances of
  // avsc's record classes: make them plain objects, as parsed JSON would be.
  return plain(
    (type as unknown as { _copy(value: unknown, options: { coerce: number }): unknown })._copy(value, {
      coerce: 3,
    }),
  );
}

function plain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(plain);
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = plain(item);
  return copy;
}
