import { isUtf8 } from 'node:buffer';
import type avro from 'avsc';
import { shortName } from './avro-type.js';

/**
 * Checks that bytes are exactly one Avro binary record of a writer schema, without building it.
 *
 * avsc decodes fast but trusts its input: a forged array count makes it loop (or allocate) for as
 * long as the count says, a bad length reads past the end without noticing until the end, and its
 * errors do not say where in the record they happened. This walk runs first, allocates nothing on
 * the success path, bounds every count by the bytes left, and on failure names the field path
 * (`requests[2].indices[0]`) and byte position. After it passes, avsc's decode cannot fail.
 *
 * Avro binary encoding (specification 1.11, "Binary Encoding"), as checked here:
 *   int, long      zig-zag varint; an int takes at most 5 bytes and fits 32 bits, a long 10 and 64
 *   float, double  4 / 8 bytes little-endian
 *   boolean        one byte, 0 or 1
 *   bytes, string  long length (≥ 0) then that many bytes (strings UTF-8)
 *   fixed          exactly `size` bytes
 *   enum           int index into the symbols
 *   union          long branch index, then the branch's value
 *   array, map     blocks: long count, then count items (map item: string key + value); a negative
 *                  count −n is followed by the block's byte size; a count of 0 ends the value
 *   record         the fields in schema order, nothing between them
 */

export type BodyFaultKind = 'truncated' | 'invalid';

export interface BodyFault {
  kind: BodyFaultKind;
  /** Byte offset in the body where the fault was found. */
  position: number;
  /** What was wrong there, e.g. "enum Action index 7 (the enum has 6 symbols)". */
  reason: string;
  /** Field path, e.g. `requests[2].indices[0]`; empty at the top level. */
  path: string;
}

export type BodyCheckResult =
  | { ok: true }
  | { ok: false; kind: 'trailing'; position: number; trailing: number }
  | ({ ok: false } & BodyFault);

export interface BodyChecker {
  /** Checks `body[0..length)` is exactly one record. */
  check(body: Uint8Array, checkUtf8?: boolean): BodyCheckResult;
  /**
   * With `captureField`: after a successful `check`, the byte offset where that top-level field's
   * value starts (decode it with `capturedType`); -1 otherwise.
   */
  readonly capturedAt: number;
  /** The avsc type of the captured field. */
  readonly capturedType: avro.Type | undefined;
}

/**
 * Zero-width items (null, empty records) are not bounded by the bytes left; this bounds them per
 * message so a forged count of 2^62 nulls is refused instead of looped over.
 */
export const MAX_ZERO_WIDTH_ITEMS = 1_000_000;

const FAIL = -1;
type Step = (buf: Uint8Array, pos: number, end: number) => number;

interface WalkState {
  checkUtf8: boolean;
  zeroWidthItems: number;
  kind: BodyFaultKind;
  position: number;
  reason: string;
  /** Path segments, innermost first (pushed while the failure unwinds). */
  segments: string[];
}

// The position after the last varint read, or one of the two negative markers.
let varintEnd = 0;
const VARINT_TRUNCATED = -1;
const VARINT_OVERFLOW = -2;

/**
 * Reads a zig-zag varint of at most `maxBytes` bytes (5 for int, 10 for long). Returns the decoded
 * value (exact up to 2^53, approximate beyond, which only matters for lengths that are refused
 * anyway) and sets `varintEnd`.
 */
function readVarint(buf: Uint8Array, pos: number, end: number, maxBytes: number): number {
  if (pos < end) {
    // Most varints (lengths, counts, indexes) are one byte.
    const first = buf[pos]!;
    if (first < 0x80) {
      varintEnd = pos + 1;
      return (first >>> 1) ^ -(first & 1);
    }
  }
  let value = 0;
  let scale = 1;
  let i = pos;
  let b: number;
  do {
    if (i >= end) {
      varintEnd = VARINT_TRUNCATED;
      return 0;
    }
    if (i - pos === maxBytes) {
      varintEnd = VARINT_OVERFLOW;
      return 0;
    }
    b = buf[i++]!;
    value += (b & 0x7f) * scale;
    scale *= 128;
  } while (b & 0x80);
  // The last byte of a 10-byte long holds only bit 63; of a 5-byte int, bits 28..31.
  if ((maxBytes === 10 && i - pos === 10 && b > 1) || (maxBytes === 5 && value >= 4_294_967_296)) {
    varintEnd = VARINT_OVERFLOW;
    return 0;
  }
  varintEnd = i;
  return value % 2 === 1 ? -(value + 1) / 2 : value / 2;
}

/**
 * @param captureField a top-level field of the record whose value's position the walk notes on the
 *   way (the ingest reads the record's timestamp there instead of decoding the whole record).
 */
export function createBodyChecker(type: avro.Type, captureField?: string): BodyChecker {
  const state: WalkState = {
    checkUtf8: false,
    zeroWidthItems: 0,
    kind: 'invalid',
    position: 0,
    reason: '',
    segments: [],
  };
  const compiled = new Map<avro.Type, Step>();
  const minSizes = new Map<avro.Type, number>();

  const truncated = (pos: number, what: string): number => {
    state.kind = 'truncated';
    state.position = pos;
    state.reason = `${what} is cut off`;
    return FAIL;
  };
  const invalid = (pos: number, reason: string): number => {
    state.kind = 'invalid';
    state.position = pos;
    state.reason = reason;
    return FAIL;
  };
  /** After readVarint failed. */
  const varintFault = (pos: number, what: string): number =>
    varintEnd === VARINT_TRUNCATED
      ? truncated(pos, what)
      : invalid(pos, `${what} is a varint too long for its type`);

  const readLength = (buf: Uint8Array, pos: number, end: number, what: string): number => {
    const length = readVarint(buf, pos, end, 10);
    if (varintEnd < 0) return varintFault(pos, `the length of ${what}`);
    if (length < 0) return invalid(pos, `the length of ${what} is negative (${length})`);
    const start = varintEnd;
    if (length > end - start) {
      state.kind = 'truncated';
      state.position = start;
      state.reason = `${what} needs ${length} bytes but only ${end - start} are left`;
      return FAIL;
    }
    return start + length;
  };

  function minSize(t: avro.Type, visiting: Set<avro.Type>): number {
    const known = minSizes.get(t);
    if (known !== undefined) return known;
    if (visiting.has(t)) return 0;
    visiting.add(t);
    let size: number;
    const any = t as AnyType;
    switch (baseTypeName(t)) {
      case 'null':
        size = 0;
        break;
      case 'float':
        size = 4;
        break;
      case 'double':
        size = 8;
        break;
      case 'fixed':
        size = any.size!;
        break;
      case 'record':
      case 'error':
        size = any.fields!.reduce((sum, field) => sum + minSize(field.type, visiting), 0);
        break;
      case 'union':
        size = 1 + Math.min(...any.types!.map((branch) => minSize(branch, visiting)));
        break;
      case 'logical':
        size = minSize(any.underlyingType!, visiting);
        break;
      default: // boolean, int, long, bytes, string, enum, array, map: at least one byte
        size = 1;
    }
    visiting.delete(t);
    minSizes.set(t, size);
    return size;
  }

  function stepOf(t: avro.Type): Step {
    const existing = compiled.get(t);
    if (existing !== undefined) return existing;
    // Named types can be recursive: register an indirection before compiling the body.
    let body: Step = () => FAIL;
    compiled.set(t, (buf, pos, end) => body(buf, pos, end));
    body = build(t);
    compiled.set(t, body);
    return body;
  }

  function build(t: avro.Type): Step {
    const any = t as AnyType;
    switch (baseTypeName(t)) {
      case 'null':
        return (_buf, pos) => pos;
      case 'boolean':
        return (buf, pos, end) => {
          if (pos >= end) return truncated(pos, 'a boolean');
          const b = buf[pos]!;
          return b <= 1
            ? pos + 1
            : invalid(pos, `a boolean byte is 0x${b.toString(16).padStart(2, '0')}, not 0 or 1`);
        };
      case 'int':
        return (buf, pos, end) => {
          if (pos < end && buf[pos]! < 0x80) return pos + 1;
          readVarint(buf, pos, end, 5);
          return varintEnd < 0 ? varintFault(pos, 'an int') : varintEnd;
        };
      case 'long':
        return (buf, pos, end) => {
          if (pos < end && buf[pos]! < 0x80) return pos + 1;
          readVarint(buf, pos, end, 10);
          return varintEnd < 0 ? varintFault(pos, 'a long') : varintEnd;
        };
      case 'float':
        return (_buf, pos, end) => (pos + 4 <= end ? pos + 4 : truncated(pos, 'a float (4 bytes)'));
      case 'double':
        return (_buf, pos, end) => (pos + 8 <= end ? pos + 8 : truncated(pos, 'a double (8 bytes)'));
      case 'bytes':
        return (buf, pos, end) => readLength(buf, pos, end, 'a bytes value');
      case 'string':
        return (buf, pos, end) => {
          const next = readLength(buf, pos, end, 'a string');
          if (next === FAIL || !state.checkUtf8) return next;
          const start = varintEnd;
          return isUtf8(buf.subarray(start, next)) ? next : invalid(start, 'a string is not valid UTF-8');
        };
      case 'fixed': {
        const size = any.size!;
        return (_buf, pos, end) =>
          pos + size <= end ? pos + size : truncated(pos, `a fixed ${any.name} (${size} bytes)`);
      }
      case 'enum': {
        const count = any.symbols!.length;
        const name = shortName(any.name);
        return (buf, pos, end) => {
          const index = readVarint(buf, pos, end, 5);
          if (varintEnd < 0) return varintFault(pos, `the index of enum ${name}`);
          if (index < 0 || index >= count) {
            return invalid(
              pos,
              `enum ${name} index ${index} is out of range (the enum has ${count} symbols)`,
            );
          }
          return varintEnd;
        };
      }
      case 'union': {
        const branches = any.types!.map((branch) => stepOf(branch));
        const names = any.types!.map((branch) => JSON.stringify(branchName(branch))).join(', ');
        return (buf, pos, end) => {
          const index = readVarint(buf, pos, end, 10);
          if (varintEnd < 0) return varintFault(pos, 'a union branch index');
          const branch = branches[index];
          if (branch === undefined) {
            return invalid(
              pos,
              `union branch ${index} does not exist (the union has ${branches.length}: ${names})`,
            );
          }
          return branch(buf, varintEnd, end);
        };
      }
      case 'array':
        return blocks(any.itemsType!, false);
      case 'map':
        return blocks(any.valuesType!, true);
      case 'record':
      case 'error':
        return recordWalk(any.fields!, -1);
      case 'logical':
        return stepOf(any.underlyingType!);
      default:
        throw new Error(`cannot check Avro type ${t.typeName}`);
    }
  }

  /** The fields in schema order; with `captureIndex` ≥ 0, notes where that field's value starts. */
  function recordWalk(recordFields: { name: string; type: avro.Type }[], captureIndex: number): Step {
    const fields = recordFields.map((field) => ({ name: field.name, step: stepOf(field.type) }));
    return (buf, pos, end) => {
      let at = pos;
      for (let i = 0; i < fields.length; i++) {
        if (i === captureIndex) capturedAt = at;
        const field = fields[i]!;
        at = field.step(buf, at, end);
        if (at === FAIL) {
          state.segments.push(`.${field.name}`);
          return FAIL;
        }
      }
      return at;
    };
  }

  function blocks(itemType: avro.Type, isMap: boolean): Step {
    const item = stepOf(itemType);
    const itemMin = minSize(itemType, new Set());
    const entryMin = isMap ? itemMin + 1 : itemMin;
    const what = isMap ? 'map' : 'array';
    return (buf, pos, end) => {
      let at = pos;
      let index = 0;
      for (;;) {
        const blockStart = at;
        let count = readVarint(buf, at, end, 10);
        if (varintEnd < 0) return varintFault(at, `an ${what} block count`);
        at = varintEnd;
        if (count === 0) return at;
        let blockSize = -1;
        if (count < 0) {
          count = -count;
          blockSize = readVarint(buf, at, end, 10);
          if (varintEnd < 0) return varintFault(at, `an ${what} block size`);
          if (blockSize < 0) return invalid(at, `an ${what} block size is negative (${blockSize})`);
          at = varintEnd;
        }
        const itemsStart = at;
        if (entryMin > 0 && count > (end - at) / entryMin) {
          state.kind = 'truncated';
          state.position = blockStart;
          state.reason = `an ${what} block announces ${count} items but only ${end - at} bytes are left`;
          return FAIL;
        }
        if (entryMin === 0) {
          state.zeroWidthItems += count;
          if (state.zeroWidthItems > MAX_ZERO_WIDTH_ITEMS) {
            return invalid(
              blockStart,
              `an ${what} of zero-byte items counts more than ${MAX_ZERO_WIDTH_ITEMS} of them`,
            );
          }
        }
        for (let n = 0; n < count; n++, index++) {
          if (isMap) {
            at = readLength(buf, at, end, 'a map key');
            if (at !== FAIL && state.checkUtf8 && !isUtf8(buf.subarray(varintEnd, at))) {
              at = invalid(varintEnd, 'a map key is not valid UTF-8');
            }
            if (at === FAIL) {
              state.segments.push(`[#${index} key]`);
              return FAIL;
            }
            const keyStart = varintEnd;
            const keyEnd = at;
            at = item(buf, at, end);
            if (at === FAIL) {
              const key = Buffer.from(buf.buffer, buf.byteOffset + keyStart, keyEnd - keyStart).toString(
                'utf8',
              );
              state.segments.push(`[${JSON.stringify(key)}]`);
              return FAIL;
            }
          } else {
            at = item(buf, at, end);
            if (at === FAIL) {
              state.segments.push(`[${index}]`);
              return FAIL;
            }
          }
        }
        if (blockSize >= 0 && at - itemsStart !== blockSize) {
          return invalid(
            blockStart,
            `an ${what} block says it has ${blockSize} bytes but its items take ${at - itemsStart}`,
          );
        }
      }
    };
  }

  let capturedAt = -1;
  let capturedType: avro.Type | undefined;
  let root = stepOf(type);
  const rootFields = (type as AnyType).fields;
  const captureIndex =
    captureField === undefined || rootFields === undefined
      ? -1
      : rootFields.findIndex((f) => f.name === captureField);
  if (captureIndex >= 0) {
    // Recursive references to the root type still go through the plain step.
    capturedType = rootFields![captureIndex]!.type;
    root = recordWalk(rootFields!, captureIndex);
  }
  return {
    get capturedAt() {
      return capturedAt;
    },
    capturedType,
    check(body, checkUtf8 = false) {
      state.checkUtf8 = checkUtf8;
      state.zeroWidthItems = 0;
      capturedAt = -1;
      let end: number;
      try {
        end = root(body, 0, body.length);
      } catch (error) {
        // Only a stack overflow can land here: a recursive schema nested deeper than the stack.
        end = invalid(0, `the record nests too deeply to check (${(error as Error).message})`);
      }
      if (end === FAIL) {
        capturedAt = -1;
        const path = state.segments.reverse().join('').replace(/^\./, '');
        state.segments.length = 0;
        return { ok: false, kind: state.kind, position: state.position, reason: state.reason, path };
      }
      if (end < body.length) {
        capturedAt = -1;
        return { ok: false, kind: 'trailing', position: end, trailing: body.length - end };
      }
      return { ok: true };
    },
  };
}

interface AnyType {
  typeName: string;
  name: string;
  size?: number;
  symbols?: string[];
  types?: avro.Type[];
  itemsType?: avro.Type;
  valuesType?: avro.Type;
  fields?: { name: string; type: avro.Type }[];
  underlyingType?: avro.Type;
}

/** avsc type names with the variants folded: `union:wrapped` → union, `abstract:long` → long, … */
export function baseTypeName(t: avro.Type): string {
  const name = t.typeName;
  if (name.startsWith('union:')) return 'union';
  if (name === 'abstract:long') return 'long';
  if (name.startsWith('logical:')) return 'logical';
  return name;
}

function branchName(t: avro.Type): string {
  return t.branchName ?? t.typeName;
}
