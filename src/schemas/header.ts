import type { DecodeFailure } from './decode-error.js';

/**
 * The 9-byte header MediaWiki puts before every Avro record on Kafka:
 *
 *   byte 0      magic byte, always 0x00
 *   bytes 1..8  schema revision id, signed 64-bit big-endian (PHP `pack('NN', high32, low32)`,
 *               Java `DataOutputStream.writeLong`)
 *   bytes 9..   one Avro binary-encoded record, written with that revision's schema
 */
export const HEADER_LENGTH = 9;
export const MAGIC_BYTE = 0x00;

export type HeaderResult = { ok: true; revision: bigint } | ({ ok: false; magic?: number } & DecodeFailure);

/** Reads the header; never throws. The body is `message.subarray(HEADER_LENGTH)`. */
export function parseHeader(message: Uint8Array): HeaderResult {
  const length = message.length;
  if (length === 0) {
    return {
      ok: false,
      code: 'EMPTY_MESSAGE',
      message: 'the message is empty (0 bytes): a MediaWiki Avro message has a 9-byte header and a body',
    };
  }
  const magic = message[0]!;
  if (magic !== MAGIC_BYTE) {
    return { ok: false, magic, code: 'BAD_MAGIC', message: badMagicMessage(message) };
  }
  if (length < HEADER_LENGTH) {
    return {
      ok: false,
      magic,
      code: 'SHORT_MESSAGE',
      message:
        `the message has ${length} byte${length === 1 ? '' : 's'}, fewer than the 9-byte header ` +
        '(magic byte + 8-byte revision id): it was cut short or is not a MediaWiki Avro message',
    };
  }
  const view = message instanceof Buffer ? message : Buffer.from(message.buffer, message.byteOffset, length);
  return { ok: true, revision: view.readBigInt64BE(1) };
}

/** The 9 header bytes for a revision. */
export function encodeHeader(revision: bigint): Buffer {
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  writeHeader(header, revision, 0);
  return header;
}

/** Writes the 9 header bytes into `target` at `offset`. */
export function writeHeader(target: Buffer, revision: bigint, offset = 0): void {
  target[offset] = MAGIC_BYTE;
  target.writeBigInt64BE(revision, offset + 1);
}

/** Header + body in one buffer. */
export function withHeader(revision: bigint, body: Uint8Array): Buffer {
  const message = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  writeHeader(message, revision, 0);
  message.set(body, HEADER_LENGTH);
  return message;
}

function badMagicMessage(message: Uint8Array): string {
  const magic = message[0]!;
  const hex = `0x${magic.toString(16).padStart(2, '0')}`;
  let hint = 'the producer did not write the MediaWiki header, or the bytes are shifted';
  if (magic === 0x7b || magic === 0x5b)
    hint = 'it looks like JSON: the topic may carry JSON events, not Avro';
  else if (magic === 0x4f && message[1] === 0x62 && message[2] === 0x6a) {
    hint = 'it looks like an Avro container file ("Obj"), not a single Kafka message';
  } else if (magic === 0x0a || magic === 0x0d)
    hint = 'it starts with a line break: a delimiter was left in the input';
  return `byte 0 (the magic byte) is ${hex}, not 0x00: this is not a MediaWiki Avro message (${hint})`;
}
