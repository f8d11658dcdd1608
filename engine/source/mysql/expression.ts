// MySQL/MariaDB expressions (defaults, generated columns, CHECK constraints) rewritten for
// PostgreSQL, token by token. Only what means the same on both servers is rewritten: column
// references, numbers, strings, arithmetic without division, comparisons, boolean logic, IN, IS
// NULL, BETWEEN and a few functions. Anything else (division, which truncates integers in
// PostgreSQL; `||`, which is OR in MySQL; user functions...) is refused with the reason. Pure.
import { quoteIdent, quoteLiteral } from '../../db/ident.ts';

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/** MySQL functions with a PostgreSQL twin of the same meaning. */
const FUNCTIONS: Readonly<Record<string, string>> = {
  abs: 'abs',
  ceil: 'ceil',
  ceiling: 'ceil',
  floor: 'floor',
  coalesce: 'coalesce',
  concat: 'concat',
  lower: 'lower',
  upper: 'upper',
  char_length: 'char_length',
  character_length: 'char_length',
  octet_length: 'octet_length',
  length: 'octet_length',
  trim: 'trim',
  ltrim: 'ltrim',
  rtrim: 'rtrim',
  mod: 'mod',
  greatest: 'greatest',
  least: 'least',
  current_timestamp: 'CURRENT_TIMESTAMP',
  now: 'CURRENT_TIMESTAMP',
  localtimestamp: 'LOCALTIMESTAMP',
  curdate: 'CURRENT_DATE',
  current_date: 'CURRENT_DATE',
};
/** Functions without arguments that PostgreSQL writes without parentheses, with an optional precision. */
const NILADIC = new Set(['CURRENT_TIMESTAMP', 'LOCALTIMESTAMP', 'CURRENT_DATE']);

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'between', 'like', 'true', 'false']);
/** Operators that mean something else in PostgreSQL (or nothing), checked before OPERATORS' prefixes of them. */
const REFUSED = ['<=>', '->>', '->', '||', '&&', ':=', '<<', '>>'];
const OPERATORS = ['<>', '!=', '<=', '>=', '=', '<', '>', '+', '-', '*', '%', '(', ')', ','];

/** A MySQL string literal's value: '' and backslash escapes as MySQL reads them (without NO_BACKSLASH_ESCAPES). */
export function unquoteString(s: string, at = 0): { value: string; end: number } {
  const quote = s[at]!;
  let value = '';
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', b: '\b', Z: '\x1a' };
  for (let i = at + 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) value += escapes[s[++i]!] ?? s[i]!;
    else if (c === quote && s[i + 1] === quote) value += s[++i]!;
    else if (c === quote) return { value, end: i + 1 };
    else value += c;
  }
  throw new ExpressionError(`unterminated string in ${s}`);
}

type Token = { kind: 'ident' | 'number' | 'string' | 'op' | 'word'; text: string };

function tokens(expr: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < expr.length;) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '`') {
      let name = '';
      let j = i + 1;
      for (; j < expr.length; j++) {
        if (expr[j] === '`' && expr[j + 1] === '`') name += expr[++j];
        else if (expr[j] === '`') break;
        else name += expr[j];
      }
      out.push({ kind: 'ident', text: name });
      i = j + 1;
    } else if (c === "'" || c === '"') {
      const { value, end } = unquoteString(expr, i);
      out.push({ kind: 'string', text: value });
      i = end;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?/i.exec(expr.slice(i))!;
      out.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[a-z_]/i.test(c)) {
      const m = /^[a-z_][a-z0-9_$]*/i.exec(expr.slice(i))!;
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else {
      const op = REFUSED.some((o) => expr.startsWith(o, i))
        ? undefined
        : OPERATORS.find((o) => expr.startsWith(o, i));
      if (!op)
        throw new ExpressionError(
          `operator ${/^[^\s\w`'"]+/.exec(expr.slice(i))![0]} has no exact PostgreSQL twin`,
        );
      out.push({ kind: 'op', text: op });
      i += op.length;
    }
  }
  return out;
}

/**
 * The expression for PostgreSQL. `columns`: the columns it may refer to, each with null, or the
 * reason a reference to it does not mean the same on PostgreSQL (a tinyint(1) that becomes boolean).
 */
export function translateExpression(expr: string, columns?: ReadonlyMap<string, string | null>): string {
  const toks = tokens(expr);
  const out: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const next = toks[i + 1];
    switch (t.kind) {
      case 'ident':
        if (columns && !columns.has(t.text)) throw new ExpressionError(`unknown column ${t.text}`);
        if (columns?.get(t.text)) throw new ExpressionError(columns.get(t.text)!);
        out.push(quoteIdent(t.text));
        break;
      case 'number':
        out.push(t.text);
        break;
      case 'string':
        out.push(quoteLiteral(t.text));
        break;
      case 'op':
        out.push(t.text === '!=' ? '<>' : t.text);
        break;
      case 'word': {
        const w = t.text.toLowerCase();
        if (KEYWORDS.has(w)) out.push(w.toUpperCase());
        else if (next?.text === '(') {
          const f = FUNCTIONS[w];
          if (!f) throw new ExpressionError(`function ${t.text}() has no exact PostgreSQL twin`);
          if (NILADIC.has(f)) {
            // current_timestamp(), current_timestamp(3)
            const close = toks[i + 2]?.text === ')' ? i + 2 : toks[i + 3]?.text === ')' ? i + 3 : -1;
            if (close < 0) throw new ExpressionError(`${t.text}() takes at most a precision`);
            out.push(close === i + 3 && f !== 'CURRENT_DATE' ? `${f}(${toks[i + 2]!.text})` : f);
            i = close;
          } else {
            out.push(`${f}(`);
            i++;
          }
        } else if (FUNCTIONS[w] && NILADIC.has(FUNCTIONS[w])) out.push(FUNCTIONS[w]);
        else throw new ExpressionError(`${t.text} has no exact PostgreSQL twin`);
      }
    }
  }
  let sql = '';
  for (const tok of out)
    sql += (sql === '' || sql.endsWith('(') || tok === ')' || tok === ',' ? '' : ' ') + tok;
  return sql;
}
