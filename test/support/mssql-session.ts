// For unit tests of the SQL Server dialect: a statement's rows handed to a RowSink as tedious hands
// them, one by one on later turns of the event loop, stopping while the request is paused.
import type { RowSink } from '../../engine/source/mssql/connect.ts';

/**
 * Hands each row `next()` gives to the sink until it gives none, stopping between pause() and
 * resume() of the request; resolves with the rows handed over. `onPause` sees every pause.
 */
export function pausableRows(
  sink: RowSink,
  next: () => unknown[] | undefined,
  onPause: () => void = () => {},
): Promise<number> {
  return new Promise<number>((resolve) => {
    let paused = false;
    let handed = 0;
    const request = {
      pause: () => {
        paused = true;
        onPause();
      },
      resume: () => {
        if (!paused) return;
        paused = false;
        setImmediate(pump);
      },
    };
    const pump = () => {
      while (!paused) {
        const row = next();
        if (!row) return resolve(handed);
        handed++;
        sink.row(row, request as never);
      }
    };
    setImmediate(pump);
  });
}
