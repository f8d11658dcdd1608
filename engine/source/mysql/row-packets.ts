// mysql2 parses each row of a result into an array of Buffers, one per value: for a large table tens
// of millions of short-lived objects, the largest part of a MySQL transfer's CPU and garbage after
// the encoding itself (README: From MySQL/MariaDB). A chunk read gives mysql2's row packets to the
// encoder instead, which reads each value where it lies. Two members mysql2 does not document are
// used: a query's `_rowParser` (what turns the current result's row packets into rows, replaced
// here for this one query) and a packet's `buffer`, `offset` (its first value) and `end`. The
// version is pinned by package-lock.json; the MySQL tests read every type through this path.
import type { Query } from 'mysql2';

interface RowPacket {
  buffer: Buffer;
  offset: number;
  end: number;
}

/**
 * What the query's 'result' event carries for each row: the encoder's piece (or nothing yet), or
 * the error that refused the row. mysql2 would end the query on an exception while the server still
 * sends rows, so none is thrown; after an error the remaining rows are skipped.
 */
export type RowOutcome = Buffer | Error | undefined;

export function encodeRowPackets(
  query: Query,
  encode: (packet: Buffer, start: number, end: number) => Buffer | undefined,
): void {
  let failed = false;
  const parser = {
    next(packet: RowPacket): RowOutcome {
      if (failed) return undefined;
      try {
        return encode(packet.buffer, packet.offset, packet.end);
      } catch (e) {
        failed = true;
        return e instanceof Error ? e : new Error(String(e));
      }
    },
  };
  Object.defineProperty(query, '_rowParser', { get: () => parser, set: () => {}, configurable: true });
}
