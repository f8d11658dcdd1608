// Progress of a transfer: rows, bytes, rate and ETA, overall and per table. Rows are known exactly
// when a chunk commits; in between they are estimated from the bytes streamed so far.

export interface TableProgress {
  table: string;
  rows: number;
  bytes: number;
  percent: number;
  estRows: number;
}

export interface ProgressSnapshot {
  rows: number;
  estRows: number;
  bytes: number;
  percent: number;
  bytesPerSecond: number;
  etaSeconds: number | null;
  chunksDone: number;
  chunks: number;
  tables: TableProgress[];
}

interface ChunkState {
  table: string;
  estRows: number;
  estBytes: number;
  streamed: number;
  rows: number | null;
}

export class ProgressTracker {
  private readonly chunks = new Map<string, ChunkState>();
  private readonly samples: { t: number; bytes: number }[] = [];
  private streamedTotal = 0;
  private readonly now: () => number;

  constructor(
    chunks: readonly { id: string; table: string; estRows: number; estBytes: number }[],
    now = () => performance.now(),
  ) {
    this.now = now;
    for (const c of chunks)
      this.chunks.set(c.id, {
        table: c.table,
        estRows: c.estRows,
        estBytes: c.estBytes,
        streamed: 0,
        rows: null,
      });
  }

  /** A chunk committed in an earlier run. */
  alreadyDone(id: string, rows: number, bytes: number): void {
    const c = this.chunks.get(id);
    if (c) Object.assign(c, { rows, streamed: bytes });
  }

  streamed(id: string, bytes: number): void {
    const c = this.chunks.get(id);
    if (c) c.streamed += bytes;
    this.streamedTotal += bytes;
    this.sample();
  }

  /** A chunk that failed and will be copied again: what it streamed did not land. */
  restart(id: string): void {
    const c = this.chunks.get(id);
    if (c && c.rows === null) c.streamed = 0;
  }

  done(id: string, rows: number, bytes: number): void {
    const c = this.chunks.get(id);
    if (c) Object.assign(c, { rows, streamed: bytes });
  }

  private sample(): void {
    const t = this.now();
    const last = this.samples[this.samples.length - 1];
    if (last && t - last.t < 250) return;
    this.samples.push({ t, bytes: this.streamedTotal });
    while (this.samples.length > 2 && t - this.samples[0]!.t > 10_000) this.samples.shift();
  }

  /** Fraction of a chunk done, from its streamed bytes against an estimate calibrated on finished chunks. */
  private fraction(c: ChunkState, bytesPerEstByte: number): number {
    if (c.rows !== null) return 1;
    return Math.min(0.99, c.streamed / Math.max(c.estBytes * bytesPerEstByte, 1));
  }

  snapshot(): ProgressSnapshot {
    const all = [...this.chunks.values()];
    const finished = all.filter((c) => c.rows !== null && c.estBytes > 0);
    const calib = finished.length
      ? finished.reduce((s, c) => s + c.streamed, 0) /
        Math.max(
          finished.reduce((s, c) => s + c.estBytes, 0),
          1,
        )
      : 1;
    const tables = new Map<string, TableProgress & { estBytes: number; doneEst: number }>();
    let rows = 0;
    let bytes = 0;
    let estBytes = 0;
    let doneEst = 0;
    for (const c of all) {
      const f = this.fraction(c, calib);
      const r = c.rows ?? Math.round(c.estRows * f);
      const t = tables.get(c.table) ?? {
        table: c.table,
        rows: 0,
        bytes: 0,
        percent: 0,
        estRows: 0,
        estBytes: 0,
        doneEst: 0,
      };
      t.rows += r;
      t.bytes += c.streamed;
      t.estRows += c.rows ?? c.estRows;
      t.estBytes += Math.max(c.estBytes, 1);
      t.doneEst += Math.max(c.estBytes, 1) * f;
      tables.set(c.table, t);
      rows += r;
      bytes += c.streamed;
      estBytes += Math.max(c.estBytes, 1);
      doneEst += Math.max(c.estBytes, 1) * f;
    }
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    const bytesPerSecond =
      first && last && last.t > first.t ? ((last.bytes - first.bytes) * 1000) / (last.t - first.t) : 0;
    const remainingStream = (estBytes - doneEst) * calib;
    const chunksDone = all.filter((c) => c.rows !== null).length;
    return {
      rows,
      estRows: [...tables.values()].reduce((s, t) => s + t.estRows, 0),
      bytes,
      percent: estBytes ? Math.round((1000 * doneEst) / estBytes) / 10 : 100,
      bytesPerSecond,
      etaSeconds:
        chunksDone === all.length
          ? 0
          : bytesPerSecond > 0
            ? Math.round(remainingStream / bytesPerSecond)
            : null,
      chunksDone,
      chunks: all.length,
      tables: [...tables.values()].map(({ table, rows: r, bytes: b, estRows, estBytes: e, doneEst: d }) => ({
        table,
        rows: r,
        bytes: b,
        estRows,
        percent: Math.round((1000 * d) / e) / 10,
      })),
    };
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function formatProgress(p: ProgressSnapshot): string {
  return (
    `${p.percent.toFixed(1)}%  ${p.rows.toLocaleString('en-US')}/${p.estRows.toLocaleString('en-US')} rows  ` +
    `${formatBytes(p.bytes)}  ${(p.bytesPerSecond / 1e6).toFixed(1)} MB/s  ETA ${formatDuration(p.etaSeconds)}  ` +
    `chunks ${p.chunksDone}/${p.chunks}`
  );
}
