/**
 * Writes the records of one (topic, partition, hour) into one output file, streaming: memory stays
 * bounded by a block or row group, never by the hour. Implementations: Avro object container
 * (`avro-container.ts`); Parquet sits behind the same interface.
 *
 * `append` and `appendEncoded` return a promise only when the caller must wait (a block is being
 * compressed and written and too many are in flight); otherwise `undefined`, so the hot loop
 * stays synchronous. Calls must not overlap: await a returned promise before the next call.
 */
export interface RecordFileWriter {
  /** Appends one record, a value of the reader schema. */
  append(record: unknown): Promise<void> | undefined;
  /**
   * Appends one record given as its Avro binary encoding with the reader schema (the body of a
   * message whose writer revision is the reader revision). Only when `acceptsEncoded`.
   */
  appendEncoded(body: Uint8Array): Promise<void> | undefined;
  /** True when `appendEncoded` is supported (Avro); Parquet needs values. */
  readonly acceptsEncoded: boolean;
  /** Records appended so far. */
  readonly records: number;
  /** Writes what is buffered and the file's trailer; the sink stays open for the caller to close. */
  finish(): Promise<{ records: number; bytes: number }>;
  /** Gives up: stops writing, never throws. The caller aborts the sink. */
  abort(): Promise<void>;
}
