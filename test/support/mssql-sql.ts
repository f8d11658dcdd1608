// For unit tests of the SQL Server dialect: catalog columns with their SQL Server type, and a small
// T-SQL tokenizer for generated SQL: names in [brackets] and N'strings' come back unquoted, so a
// test asserts which objects a statement names and where, and that a hostile name stayed inside its
// quotes (an unterminated quote throws).
import type { Encoding, MssqlColumn, MssqlType } from '../../engine/source/mssql/column.ts';
import { column } from './catalog.ts';

/** A catalog column of a SQL Server source; the type's sizes default to an int's. */
export const mssqlColumn = (
  name: string,
  type: Partial<MssqlType> & { name: string },
  encoding: Encoding,
  notNull = true,
): MssqlColumn => ({
  ...column(name, { notNull }),
  mssql: {
    type: { alias: null, maxLength: 4, precision: 10, scale: 0, collation: null, codePage: null, ...type },
    encoding,
  },
});
export type Kind = 'ident' | 'string' | 'word' | 'var' | 'number' | 'symbol';

export interface Token {
  kind: Kind;
  /** Unquoted for ident and string; upper case for word. */
  text: string;
}

export function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const quoted = (close: string): string => {
    let text = '';
    for (;;) {
      const j = sql.indexOf(close, i);
      if (j < 0) throw new Error(`unterminated quote at ${i}: ${sql.slice(i - 1, i + 40)}`);
      text += sql.slice(i, j);
      if (sql[j + 1] === close) {
        text += close;
        i = j + 2;
      } else {
        i = j + 1;
        return text;
      }
    }
  };
  while (i < sql.length) {
    const ch = sql[i]!;
    const rest = sql.slice(i);
    let m: RegExpExecArray | null;
    if (/\s/.test(ch)) i++;
    else if (ch === '[') {
      i++;
      out.push({ kind: 'ident', text: quoted(']') });
    } else if (ch === "'" || ((ch === 'N' || ch === 'n') && sql[i + 1] === "'")) {
      i += ch === "'" ? 1 : 2;
      out.push({ kind: 'string', text: quoted("'") });
    } else if ((m = /^@@?[A-Za-z0-9_]+/.exec(rest))) {
      out.push({ kind: 'var', text: m[0].toUpperCase() });
      i += m[0].length;
    } else if ((m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest))) {
      out.push({ kind: 'word', text: m[0].toUpperCase() });
      i += m[0].length;
    } else if ((m = /^[0-9]+/.exec(rest))) {
      out.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if ((m = /^(<=|>=|<>)/.exec(rest))) {
      out.push({ kind: 'symbol', text: m[0] });
      i += 2;
    } else {
      out.push({ kind: 'symbol', text: ch });
      i++;
    }
  }
  return out;
}

/** The words and symbols of a statement (names and strings as `[]` and `''`): its shape, names aside. */
export const shape = (tokens: readonly Token[]): string =>
  tokens.map((t) => (t.kind === 'ident' ? '[]' : t.kind === 'string' ? "''" : t.text)).join(' ');

/** The names a statement uses, `schema.name` where qualified, in order. */
export function names(tokens: readonly Token[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.kind !== 'ident') continue;
    let name = tokens[i]!.text;
    while (tokens[i + 1]?.text === '.' && tokens[i + 2]?.kind === 'ident') {
      name += `.${tokens[i + 2]!.text}`;
      i += 2;
    }
    out.push(name);
  }
  return out;
}

/** The index of the first token sequence matching `words` (upper case words/symbols) from `from`. */
export function find(tokens: readonly Token[], words: readonly string[], from = 0): number {
  for (let i = from; i + words.length <= tokens.length; i++)
    if (
      words.every(
        (w, j) =>
          tokens[i + j]!.kind !== 'ident' && tokens[i + j]!.kind !== 'string' && tokens[i + j]!.text === w,
      )
    )
      return i;
  return -1;
}

/** The parenthesised tokens starting at `open` (a `(`), without the outer pair; unbalanced throws. */
export function group(tokens: readonly Token[], open: number): Token[] {
  if (tokens[open]?.text !== '(') throw new Error(`no ( at token ${open}`);
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.kind === 'symbol' && tokens[i]!.text === '(') depth++;
    if (tokens[i]!.kind === 'symbol' && tokens[i]!.text === ')' && --depth === 0)
      return tokens.slice(open + 1, i);
  }
  throw new Error('unbalanced parentheses');
}
