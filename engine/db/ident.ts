// Identifiers are always quoted: table and column names come from users' databases and can be
// mixed-case, reserved words, or hold quotes and spaces.

export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error(`identifier ${JSON.stringify(name)} contains a NUL byte`);
  return `"${name.replaceAll('"', '""')}"`;
}

export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new Error('string literal contains a NUL byte');
  return `'${value.replaceAll("'", "''")}'`;
}

export function columnList(names: readonly string[]): string {
  return names.map(quoteIdent).join(', ');
}
