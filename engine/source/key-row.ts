// The rows a change batch hands out for its logged keys (source/dialect.ts ChangeBatch.keys), the same
// for every source whose keys are not read by COPY on the source itself.

/** COPY text of one `(tbl text, key text[])` row, from the key's texts. */
export function keyRow(table: string, key: readonly string[]): string {
  const element = (v: string) => `"${v.replace(/[\\"]/g, '\\$&')}"`;
  const field = (v: string) =>
    v.replace(/[\\\t\n\r]/g, (ch) => ({ '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' })[ch]!);
  return `${field(table)}\t${field(`{${key.map(element).join(',')}}`)}\n`;
}
