// SQL Server expressions as sys.* renders them (defaults `((0))`, `(getdate())`; CHECK constraints
// `([qty]>(0))`; computed columns `([price]*[qty])`; filtered indexes `([deleted_at] IS NULL)`)
// rewritten for PostgreSQL. A small parser types every operand, so only what means the same on both
// servers is rewritten: numbers, NULL, column references, arithmetic on numbers (`/` and `%` on
// integers only: decimal division scales differently), `+` on two strings as `||`, comparisons of
// numbers, dates and times, a bit column against 0 or 1 (a boolean on PostgreSQL), AND/OR/NOT, IS
// [NOT] NULL, IN, BETWEEN, and a few functions with an exact twin. Refused, with the reason
// (ExpressionError): comparing or matching strings (SQL Server compares them under the column's
// collation, mostly case-insensitive, and ignores trailing spaces; PostgreSQL does neither), LIKE,
// CASE, conversions other than of a number literal, bitwise operators, any other function. Pure.
import { quoteIdent, quoteLiteral } from '../../db/ident.ts';

export class ExpressionError extends Error {
  override name = 'ExpressionError';
}

/**
 * What an operand is, for deciding what an operator means: `pred` is a condition (a comparison),
 * `bool` a bit value (boolean on PostgreSQL), `null` the NULL literal.
 */
export type Kind = 'int' | 'num' | 'bool' | 'pred' | 'string' | 'time' | 'uuid' | 'binary' | 'null' | 'other';

/** A column an expression may name. */
export interface ColumnRef {
  kind: Kind;
  /** money/smallmoney: SQL Server multiplies and divides them with its own rounding. */
  money?: boolean;
  /** nchar/nvarchar under a collation without supplementary characters: LEN counts UTF-16 code units. */
  utf16Units?: boolean;
}

export interface Translated {
  sql: string;
  kind: Kind;
  /** Depends on the clock or chance (getdate(), newid()): not allowed in a PostgreSQL generated column. */
  volatile: boolean;
}

interface Node extends Translated {
  /** Needs no parentheses as an operand. */
  atom: boolean;
  /** A literal's value: the number's text, the string's content. */
  number?: string;
  string?: string;
  column?: ColumnRef;
}

/** A migrated sequence's name on the target as regclass reads it (`"s"."q"`), from its SQL Server schema (null: unqualified) and name. */
export type SequenceName = (schema: string | null, name: string) => string | undefined;

type Token = { kind: 'ident' | 'number' | 'string' | 'binary' | 'op' | 'word'; text: string };

const OPERATORS = ['<>', '!=', '<=', '>=', '!<', '!>', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ','];

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < expr.length;) {
    const c = expr[i]!;
    const rest = expr.slice(i);
    if (/\s/.test(c)) {
      i++;
    } else if (c === '[' || c === '"') {
      const close = c === '[' ? ']' : '"';
      let name = '';
      let j = i + 1;
      for (; j < expr.length; j++) {
        if (expr[j] === close && expr[j + 1] === close) name += expr[++j];
        else if (expr[j] === close) break;
        else name += expr[j];
      }
      if (j >= expr.length) throw new ExpressionError(`unterminated name in ${expr}`);
      out.push({ kind: 'ident', text: name });
      i = j + 1;
    } else if (c === "'" || (/^n'/i.test(rest) && (c === 'N' || c === 'n'))) {
      let j = expr.indexOf("'", i) + 1;
      let value = '';
      for (; j < expr.length; j++) {
        if (expr[j] === "'" && expr[j + 1] === "'") value += expr[++j];
        else if (expr[j] === "'") break;
        else value += expr[j];
      }
      if (j >= expr.length) throw new ExpressionError(`unterminated string in ${expr}`);
      out.push({ kind: 'string', text: value });
      i = j + 1;
    } else if (/^0x/i.test(rest)) {
      const m = /^0x([0-9a-f]*)/i.exec(rest)!;
      out.push({ kind: 'binary', text: m[1]!.toLowerCase() });
      i += m[0].length;
    } else if (c === '.' && !/[0-9]/.test(expr[i + 1] ?? '')) {
      out.push({ kind: 'op', text: '.' });
      i++;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[-+]?[0-9]+)?/i.exec(rest);
      if (!m) throw new ExpressionError(`unexpected ${c} in ${expr}`);
      out.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[a-z_@#]/i.test(c)) {
      const m = /^[a-z_@#][a-z0-9_@#$]*/i.exec(rest)!;
      out.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else {
      const op = OPERATORS.find((o) => expr.startsWith(o, i));
      if (!op) throw new ExpressionError(`operator ${c} has no exact PostgreSQL twin`);
      out.push({ kind: 'op', text: op });
      i += op.length;
    }
  }
  return out;
}

const STRINGS_DIFFER =
  "compares strings: SQL Server compares them under the column's collation (mostly case-insensitive) and ignores trailing spaces, PostgreSQL does neither";
const ISO_TIME =
  /^\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d{1,7})?)?)?$|^\d\d:\d\d(?::\d\d(?:\.\d{1,7})?)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isNumeric = (k: Kind) => k === 'int' || k === 'num';
const leaf = (sql: string, kind: Kind, extra: Partial<Node> = {}): Node => ({
  sql,
  kind,
  volatile: false,
  atom: true,
  ...extra,
});
// A leading minus is parenthesized too: `a - -1` would start a comment (`--`).
const operand = (n: Node) => (n.atom && !n.sql.startsWith('-') ? n.sql : `(${n.sql})`);

/** Niladic functions: what PostgreSQL writes, the kind, volatile. */
const CLOCK: Readonly<Record<string, [string, Kind]>> = {
  // The target session's time zone stands for the Windows server's (README, SQL Server).
  getdate: ['LOCALTIMESTAMP', 'time'],
  sysdatetime: ['LOCALTIMESTAMP', 'time'],
  current_timestamp: ['LOCALTIMESTAMP', 'time'],
  getutcdate: ["timezone('UTC', now())", 'time'],
  sysutcdatetime: ["timezone('UTC', now())", 'time'],
  sysdatetimeoffset: ['CURRENT_TIMESTAMP', 'time'],
  newid: ['gen_random_uuid()', 'uuid'],
};

/** Which literal a bit value compares with: 0 is false, any other number true (as CONVERT(bit) does). */
function asBoolean(n: Node): Node | undefined {
  if (n.number === undefined) return undefined;
  return leaf(Number(n.number) === 0 ? 'false' : 'true', 'bool');
}

/** `a op b` for a comparison (`=`, `<>`, `<`, ...): both sides must compare the same on both servers. */
function comparable(a: Node, b: Node, op: string): [Node, Node] {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.kind === 'bool') {
      // A bit compared with a number is the number 0 or 1: only those literals are exact booleans.
      const zeroOrOne = y.number !== undefined && [0, 1].includes(Number(y.number));
      const lit = y.kind === 'bool' ? y : zeroOrOne ? asBoolean(y) : undefined;
      if (lit && (op === '=' || op === '<>')) return x === a ? [a, lit] : [lit, b];
      throw new ExpressionError(`a bit value compared with ${y.sql} (bit becomes boolean on PostgreSQL)`);
    }
  }
  if (a.kind === 'null' || b.kind === 'null') return [a, b];
  if (isNumeric(a.kind) && isNumeric(b.kind)) return [a, b];
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    if (x.kind === 'time' && (y.kind === 'time' || (y.string !== undefined && ISO_TIME.test(y.string))))
      return [a, b];
    if (x.kind === 'uuid' && (op === '=' || op === '<>'))
      if (y.kind === 'uuid' || (y.string !== undefined && UUID.test(y.string))) return [a, b];
    if ((x.kind === 'time' || x.kind === 'uuid') && y.kind === 'string')
      throw new ExpressionError(
        `${a.sql} ${op} ${b.sql}: SQL Server converts the string by its own rules (only an ISO date or a uuid literal is kept)`,
      );
  }
  if (a.kind === 'string' || b.kind === 'string') throw new ExpressionError(STRINGS_DIFFER);
  throw new ExpressionError(`${a.sql} ${op} ${b.sql} does not compare the same on PostgreSQL`);
}

class Parser {
  private i = 0;
  private readonly toks: Token[];
  private readonly columns: ReadonlyMap<string, ColumnRef>;
  private readonly sequence: SequenceName | undefined;

  constructor(expr: string, columns: ReadonlyMap<string, ColumnRef>, sequence?: SequenceName) {
    this.toks = tokenize(expr);
    this.columns = columns;
    this.sequence = sequence;
  }

  private peek(): Token | undefined {
    return this.toks[this.i];
  }
  private word(w: string): boolean {
    const t = this.peek();
    if (t?.kind === 'word' && t.text.toLowerCase() === w) {
      this.i++;
      return true;
    }
    return false;
  }
  private op(o: string): boolean {
    const t = this.peek();
    if (t?.kind === 'op' && t.text === o) {
      this.i++;
      return true;
    }
    return false;
  }
  private expect(o: string): void {
    if (!this.op(o)) throw new ExpressionError(`expected ${o} at ${this.peek()?.text ?? 'the end'}`);
  }

  parse(): Node {
    const n = this.or();
    if (this.peek()) throw new ExpressionError(`${this.peek()!.text} is not understood here`);
    return n;
  }

  private logical(kind: 'AND' | 'OR', next: () => Node): Node {
    let left = next();
    while (this.word(kind.toLowerCase())) {
      const right = next();
      for (const n of [left, right])
        if (n.kind !== 'pred') throw new ExpressionError(`${n.sql} is not a condition`);
      left = {
        sql: `${operand(left)} ${kind} ${operand(right)}`,
        kind: 'pred',
        volatile: left.volatile || right.volatile,
        atom: false,
      };
    }
    return left;
  }
  private or = (): Node => this.logical('OR', this.and);
  private and = (): Node => this.logical('AND', this.not);

  private not = (): Node => {
    if (!this.word('not')) return this.predicate();
    const n = this.not();
    if (n.kind !== 'pred') throw new ExpressionError(`${n.sql} is not a condition`);
    return { sql: `NOT ${operand(n)}`, kind: 'pred', volatile: n.volatile, atom: false };
  };

  private predicate(): Node {
    const left = this.additive();
    const t = this.peek();
    const pred = (sql: string, ...ns: Node[]): Node => ({
      sql,
      kind: 'pred',
      volatile: ns.some((n) => n.volatile),
      atom: false,
    });
    if (t?.kind === 'op' && ['=', '<>', '!=', '<', '>', '<=', '>=', '!<', '!>'].includes(t.text)) {
      this.i++;
      const op = { '!=': '<>', '!<': '>=', '!>': '<=' }[t.text] ?? t.text;
      const [a, b] = comparable(left, this.additive(), op);
      return pred(`${operand(a)} ${op} ${operand(b)}`, a, b);
    }
    if (this.word('is')) {
      const not = this.word('not');
      if (!this.word('null')) throw new ExpressionError('IS without NULL');
      return pred(`${operand(left)} IS ${not ? 'NOT ' : ''}NULL`, left);
    }
    const save = this.i;
    const not = this.word('not');
    if (this.word('in')) {
      this.expect('(');
      const items: Node[] = [];
      do items.push(comparable(left, this.additive(), '=')[1]);
      while (this.op(','));
      this.expect(')');
      return pred(
        `${operand(left)} ${not ? 'NOT ' : ''}IN (${items.map((n) => n.sql).join(', ')})`,
        left,
        ...items,
      );
    }
    if (this.word('between')) {
      const lo = comparable(left, this.additive(), '>=')[1];
      if (!this.word('and')) throw new ExpressionError('BETWEEN without AND');
      const hi = comparable(left, this.additive(), '<=')[1];
      return pred(
        `${operand(left)} ${not ? 'NOT ' : ''}BETWEEN ${operand(lo)} AND ${operand(hi)}`,
        left,
        lo,
        hi,
      );
    }
    if (this.word('like'))
      throw new ExpressionError(
        `LIKE ${STRINGS_DIFFER.replace('compares strings: ', '')}, and knows [...] classes`,
      );
    this.i = save;
    return left;
  }

  private additive(): Node {
    let left = this.multiplicative();
    for (;;) {
      const t = this.peek();
      if (t?.kind !== 'op' || (t.text !== '+' && t.text !== '-')) return left;
      this.i++;
      const right = this.multiplicative();
      left = this.arithmetic(t.text, left, right);
    }
  }

  private multiplicative(): Node {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      if (t?.kind !== 'op' || !['*', '/', '%'].includes(t.text)) return left;
      this.i++;
      left = this.arithmetic(t.text, left, this.unary());
    }
  }

  private arithmetic(op: string, a: Node, b: Node): Node {
    const volatile = a.volatile || b.volatile;
    if (op === '+' && (a.kind === 'string' || b.kind === 'string')) {
      for (const n of [a, b]) {
        if (n.kind !== 'string' && n.kind !== 'null')
          throw new ExpressionError(`${a.sql} + ${b.sql} mixes a string with another type`);
      }
      return { sql: `${operand(a)} || ${operand(b)}`, kind: 'string', volatile, atom: false };
    }
    const integers = a.kind === 'int' && b.kind === 'int';
    if (!isNumeric(a.kind) || !isNumeric(b.kind))
      throw new ExpressionError(`${a.sql} ${op} ${b.sql}: arithmetic on other than numbers`);
    if (op !== '+' && op !== '-' && (a.column?.money || b.column?.money))
      throw new ExpressionError(
        `${a.sql} ${op} ${b.sql}: SQL Server rounds money products and quotients its own way`,
      );
    if ((op === '/' || op === '%') && !integers)
      throw new ExpressionError(`${a.sql} ${op} ${b.sql}: SQL Server scales decimal ${op} differently`);
    return {
      sql: `${operand(a)} ${op} ${operand(b)}`,
      kind: integers ? 'int' : 'num',
      volatile,
      atom: false,
    };
  }

  private unary(): Node {
    if (this.op('-')) {
      const n = this.unary();
      if (!isNumeric(n.kind)) throw new ExpressionError(`-${n.sql}: negation of other than a number`);
      if (n.number !== undefined && !n.number.startsWith('-'))
        return leaf(`-${n.number}`, n.kind, { number: `-${n.number}` });
      return { ...n, sql: `-${operand(n)}`, atom: false, number: undefined, column: undefined };
    }
    if (this.op('+')) return this.unary();
    return this.primary();
  }

  private primary(): Node {
    const t = this.peek();
    if (!t) throw new ExpressionError('the expression ends early');
    this.i++;
    switch (t.kind) {
      case 'number': {
        const integer = /^[0-9]+$/.test(t.text);
        return leaf(t.text, integer ? 'int' : 'num', { number: t.text });
      }
      case 'string':
        return leaf(quoteLiteral(t.text), 'string', { string: t.text });
      case 'binary':
        return leaf(`'\\x${t.text}'::bytea`, 'binary');
      case 'ident': {
        const col = this.columns.get(t.text);
        if (!col) throw new ExpressionError(`unknown column ${t.text}`);
        return leaf(quoteIdent(t.text), col.kind, { column: col });
      }
      case 'op': {
        if (t.text !== '(') throw new ExpressionError(`${t.text} is not understood here`);
        const n = this.or();
        this.expect(')');
        // `((0))`: the parentheses sys.* adds around every operand carry nothing.
        return n;
      }
      case 'word': {
        const w = t.text.toLowerCase();
        if (w === 'null') return leaf('NULL', 'null');
        if (w === 'next' && this.word('value') && this.word('for')) return this.nextValue();
        if (w === 'convert' || w === 'cast' || w === 'try_convert' || w === 'try_cast')
          return this.convert(w);
        const clock = CLOCK[w];
        if (clock && (w === 'current_timestamp' || this.op('('))) {
          if (w !== 'current_timestamp') this.expect(')');
          return leaf(clock[0], clock[1], { volatile: true });
        }
        if (this.peek()?.text !== '(') throw new ExpressionError(`${t.text} has no exact PostgreSQL twin`);
        this.i++;
        const args: Node[] = [];
        if (!this.op(')')) {
          do args.push(this.or());
          while (this.op(','));
          this.expect(')');
        }
        return this.call(w, t.text, args);
      }
    }
  }

  /** NEXT VALUE FOR [schema].[sequence]: nextval of the migrated sequence. */
  private nextValue(): Node {
    const names: string[] = [];
    do {
      const t = this.toks[this.i++];
      if (t?.kind !== 'ident' && t?.kind !== 'word')
        throw new ExpressionError('NEXT VALUE FOR without a sequence');
      names.push(t.text);
    } while (this.op('.'));
    const [schema, name] = names.length === 2 ? names : [null, names[0]!];
    const target = names.length <= 2 ? this.sequence?.(schema ?? null, name!) : undefined;
    if (!target) throw new ExpressionError(`sequence ${names.join('.')} is not migrated`);
    return leaf(`nextval(${quoteLiteral(target)}::regclass)`, 'int', { volatile: true });
  }

  private call(w: string, name: string, args: Node[]): Node {
    const one = (ok: (k: Kind) => boolean) => {
      if (args.length !== 1 || !ok(args[0]!.kind))
        throw new ExpressionError(`${name}(${args.map((a) => a.sql).join(', ')}): unexpected arguments`);
      return args[0]!;
    };
    const fn = (sql: string, kind: Kind): Node => ({
      sql,
      kind,
      volatile: args.some((a) => a.volatile),
      atom: true,
    });
    switch (w) {
      case 'abs':
      case 'ceiling':
      case 'floor': {
        const a = one(isNumeric);
        return fn(`${w}(${a.sql})`, a.kind);
      }
      case 'isnull':
      case 'coalesce': {
        // ISNULL's type is its first argument's: the same as COALESCE's only when the kinds agree.
        const kinds = new Set(args.map((a) => a.kind).filter((k) => k !== 'null'));
        if (
          args.length < 2 ||
          kinds.size !== 1 ||
          [...kinds][0] === 'pred' ||
          (w === 'isnull' && args.length !== 2)
        )
          throw new ExpressionError(`${name}() over operands of different types`);
        return fn(`coalesce(${args.map((a) => a.sql).join(', ')})`, [...kinds][0]!);
      }
      case 'len': {
        // LEN counts characters without trailing spaces.
        const a = one((k) => k === 'string');
        if (a.column?.utf16Units)
          throw new ExpressionError(`len(${a.sql}) counts UTF-16 code units under the column's collation`);
        return fn(`char_length(rtrim(${a.sql}))`, 'int');
      }
      case 'ltrim':
      case 'rtrim': {
        // One argument: spaces only, on both servers.
        const a = one((k) => k === 'string');
        return fn(`${w}(${a.sql})`, 'string');
      }
      default:
        throw new ExpressionError(`function ${name}() has no exact PostgreSQL twin`);
    }
  }

  /** CONVERT(type, x[, style]) / CAST(x AS type): only of a number literal to a number or bit type. */
  private convert(w: string): Node {
    this.expect('(');
    let type: string;
    let value: Node;
    const typeName = () => {
      const t = this.toks[this.i++];
      if (t?.kind !== 'ident' && t?.kind !== 'word') throw new ExpressionError(`${w}: no type`);
      if (this.op('('))
        while (!this.op(')')) if (!this.toks[this.i++]) throw new ExpressionError(`${w}: ( without )`);
      return t.text.toLowerCase();
    };
    if (w.endsWith('convert')) {
      type = typeName();
      this.expect(',');
      value = this.or();
      if (this.op(',')) throw new ExpressionError(`${w} with a style has no exact PostgreSQL twin`);
    } else {
      value = this.or();
      if (!this.word('as')) throw new ExpressionError(`${w} without AS`);
      type = typeName();
    }
    this.expect(')');
    if (type === 'bit') {
      const b = asBoolean(value);
      if (b) return b;
    }
    const numbers = /^(tinyint|smallint|int|bigint|decimal|numeric|money|smallmoney|float|real)$/;
    if (numbers.test(type) && value.number !== undefined && /^-?[0-9]+$/.test(value.number)) return value;
    throw new ExpressionError(`${w}(${type}, ${value.sql}) has no exact PostgreSQL twin`);
  }
}

/**
 * The expression for PostgreSQL, with its kind. `columns`: the columns it may name (by their
 * SQL Server name); a default names none.
 */
export function translateExpression(
  expr: string,
  columns: ReadonlyMap<string, ColumnRef> = new Map(),
): Translated {
  const { sql, kind, volatile } = new Parser(expr, columns).parse();
  return { sql, kind, volatile };
}

/** A CHECK constraint's or filtered index's condition for PostgreSQL. */
export function translateCondition(expr: string, columns: ReadonlyMap<string, ColumnRef>): string {
  const t = translateExpression(expr, columns);
  if (t.kind !== 'pred') throw new ExpressionError(`${expr} is not a condition`);
  return t.sql;
}

/**
 * A column default (sys.default_constraints.definition) for a column of kind `target`, or null
 * when it is NULL. Literals become the column's kind only where the value is unambiguous (0/1 for
 * a bit, an ISO date, a uuid); anything else of another kind is refused.
 */
export function translateDefault(expr: string, target: ColumnRef, sequence?: SequenceName): string | null {
  const n = new Parser(expr, new Map(), sequence).parse();
  if (n.kind === 'null') return null;
  if (n.kind === target.kind || (n.kind === 'int' && target.kind === 'num')) return n.sql;
  if (target.kind === 'bool') {
    const b = asBoolean(n);
    if (b) return b.sql;
  }
  if (n.string !== undefined) {
    if (target.kind === 'time' && ISO_TIME.test(n.string)) return n.sql;
    if (target.kind === 'uuid' && UUID.test(n.string)) return n.sql;
  }
  throw new ExpressionError(`a ${n.kind} value for a ${target.kind} column`);
}
