// Pointing a multi-schema catalog's definitions at the target schemas. Pure.
//
// Each schema's definitions are captured with `search_path` = that schema alone (extract.ts), so its
// own objects come out unqualified and resolve in its target schema, while objects of the other
// migrated schemas come out qualified with their source name (`billing.customers`). When such a
// schema is renamed on the target, those qualifications must follow:
//
// - where the catalog gives an OID, the name PostgreSQL rendered for it is known exactly and replaced
//   whole: a column's type (format_type qualifies it as `quote_ident(namespace).name`), a foreign
//   key's referenced table (`FOREIGN KEY (cols) REFERENCES quote_ident(namespace).table(`);
// - the other definitions are SQL text as PostgreSQL deparses it (defaults, generated columns, check
//   and exclusion constraints, index definitions, partition keys and bounds, domains and composite
//   types, views, policies, trigger definitions, routine headers and BEGIN ATOMIC bodies). They are
//   read token by token: an identifier naming a renamed schema immediately followed by `.` is a
//   schema qualification and is replaced; the text of a string literal cast to a reg* type
//   (`nextval('billing.seq'::regclass)`) is a name and is rewritten the same way. Any other string
//   literal is data and is left alone. When the same identifier also appears in another position (a
//   table alias or column named like the schema), `name.` could be a column reference: the object
//   is refused rather than guessed.
// - routine bodies in quotes (`AS $function$ ... $function$`) are not parsed: a body that mentions a
//   renamed schema is refused. Neither are strings turned into names at run time
//   (`nextval('billing.seq')` with a text argument, EXECUTE): those are not recognised at all.
//
// Refusals are collected as messages naming the object; Checks refuses the run with them.
import { quoteIdent } from '../db/ident.ts';

/** Source schema -> target schema, for every migrated schema (renamed or not). */
export type SchemaMap = ReadonlyMap<string, string>;

export interface Rewritten {
  text: string;
  /** Migrated schemas other than `own` the text refers to (for the order in which schemas are created). */
  uses: Set<string>;
  /** Why the text cannot be rewritten safely; null when it can. */
  problem: string | null;
}

const REG_TYPES =
  /^::(regclass|regtype|regproc|regprocedure|regoper|regoperator|regnamespace|regconfig|regdictionary|regcollation|regrole)\b/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_PART = /[A-Za-z0-9_$\u0080-\uffff]/;

interface Token {
  kind: 'ident' | 'string' | 'dollar' | 'other';
  start: number;
  end: number;
  /** Identifier: its name (unquoted ones folded to lower case); string: its content. */
  value: string;
  quoted?: boolean;
}

/** The tokens of deparsed SQL that matter here: identifiers, string literals, dollar-quoted strings. */
function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i]!;
    if (
      ch === "'" ||
      ((ch === 'E' || ch === 'e') && sql[i + 1] === "'" && !IDENT_PART.test(sql[i - 1] ?? ' '))
    ) {
      const escapes = ch !== "'";
      let j = escapes ? i + 2 : i + 1;
      let value = '';
      for (;;) {
        if (j >= sql.length) throw new Error('unterminated string literal');
        if (escapes && sql[j] === '\\') {
          value += sql.slice(j, j + 2);
          j += 2;
        } else if (sql[j] === "'" && sql[j + 1] === "'") {
          value += "'";
          j += 2;
        } else if (sql[j] === "'") break;
        else value += sql[j++];
      }
      out.push({ kind: 'string', start: i, end: j + 1, value, quoted: escapes });
      i = j + 1;
    } else if (ch === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= sql.length) throw new Error('unterminated quoted identifier');
        if (sql[j] === '"' && sql[j + 1] === '"') {
          value += '"';
          j += 2;
        } else if (sql[j] === '"') break;
        else value += sql[j++];
      }
      out.push({ kind: 'ident', start: i, end: j + 1, value, quoted: true });
      i = j + 1;
    } else if (ch === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))![0];
      const close = sql.indexOf(tag, i + tag.length);
      if (close < 0) throw new Error('unterminated dollar-quoted string');
      out.push({
        kind: 'dollar',
        start: i,
        end: close + tag.length,
        value: sql.slice(i + tag.length, close),
      });
      i = close + tag.length;
    } else if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < sql.length && IDENT_PART.test(sql[j]!)) j++;
      out.push({ kind: 'ident', start: i, end: j, value: sql.slice(i, j).toLowerCase() });
      i = j;
    } else if (/[0-9]/.test(ch)) {
      // A number (with any exponent or trailing letters) is never an identifier.
      let j = i + 1;
      while (j < sql.length && (IDENT_PART.test(sql[j]!) || sql[j] === '.')) j++;
      i = j;
    } else {
      out.push({ kind: 'other', start: i, end: i + 1, value: ch });
      i++;
    }
  }
  return out;
}

/** Whether a dollar-quoted body mentions the schema as a word (quoted or not, any case). */
function mentions(body: string, schema: string): boolean {
  const escaped = schema.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_$])${escaped}($|[^A-Za-z0-9_$])`, 'i').test(body);
}

/**
 * `sql` with every qualification by a renamed migrated schema (other than by `own`, which the
 * target's search_path resolves) pointing at its target schema. `what` names the object in messages.
 */
export function retargetSql(sql: string, own: string, schemas: SchemaMap, what: string): Rewritten {
  const uses = new Set<string>();
  let tokens: Token[];
  try {
    tokens = tokenize(sql);
  } catch (err) {
    return {
      text: sql,
      uses,
      problem: `${what}: cannot be read to rewrite schema names (${(err as Error).message})`,
    };
  }
  const renamed = (name: string) => name !== own && schemas.has(name) && schemas.get(name) !== name;
  const edits: { start: number; end: number; text: string }[] = [];
  const qualifiers = new Map<string, number>();
  const elsewhere = new Set<string>();
  for (const [i, t] of tokens.entries()) {
    if (t.kind === 'dollar') {
      for (const s of schemas.keys())
        if (renamed(s) && mentions(t.value, s))
          return {
            text: sql,
            uses,
            problem: `${what}: its body mentions schema ${quoteIdent(s)}, which moves to ${quoteIdent(schemas.get(s)!)}; ferry does not rewrite routine bodies`,
          };
      continue;
    }
    if (t.kind === 'string') {
      const cast = REG_TYPES.test(sql.slice(t.end));
      if (!cast) continue;
      const inner = retargetSql(t.value, own, schemas, what);
      if (inner.problem) return { text: sql, uses, problem: inner.problem };
      for (const u of inner.uses) uses.add(u);
      if (inner.text !== t.value) {
        const literal = t.quoted
          ? `E'${inner.text.replaceAll("'", "''")}'`
          : `'${inner.text.replaceAll("'", "''")}'`;
        edits.push({ start: t.start, end: t.end, text: literal });
      }
      continue;
    }
    if (t.kind !== 'ident' || !schemas.has(t.value) || t.value === own) continue;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    // `billing.customers`, `billing."Customers"`, `OPERATOR(billing.+)`; not `x.billing` (a column).
    const qualifies =
      next?.kind === 'other' &&
      next.value === '.' &&
      next.start === t.end &&
      !(prev?.kind === 'other' && prev.value === '.' && prev.end === t.start);
    if (!qualifies) {
      elsewhere.add(t.value);
      continue;
    }
    uses.add(t.value);
    qualifiers.set(t.value, (qualifiers.get(t.value) ?? 0) + 1);
    if (renamed(t.value)) edits.push({ start: t.start, end: t.end, text: quoteIdent(schemas.get(t.value)!) });
  }
  for (const s of qualifiers.keys())
    if (renamed(s) && elsewhere.has(s))
      return {
        text: sql,
        uses,
        problem: `${what}: names ${quoteIdent(s)} both as a schema and as something else (an alias, a table or a column), so \`${s}.\` cannot be told apart; rename one of them`,
      };
  let text = sql;
  for (const e of edits.sort((a, b) => b.start - a.start))
    text = text.slice(0, e.start) + e.text + text.slice(e.end);
  return { text, uses, problem: null };
}

/**
 * A name PostgreSQL rendered for an object of schema `namespace` (a type by format_type, a foreign
 * key's table by pg_get_constraintdef), where the text is `head`, then exactly `prefix`
 * (`quote_ident(namespace) || '.'`, as PostgreSQL rendered it), then the rest: the prefix pointed at
 * the target schema. Unchanged when the namespace is not a renamed migrated schema other than `own`.
 */
export function retargetPrefix(
  text: string,
  head: string,
  prefix: string,
  namespace: string,
  own: string,
  schemas: SchemaMap,
  what: string,
): Rewritten {
  const uses = new Set(namespace !== own && schemas.has(namespace) ? [namespace] : []);
  const target = schemas.get(namespace);
  if (namespace === own || target === undefined || target === namespace) return { text, uses, problem: null };
  if (!text.startsWith(head + prefix))
    return {
      text,
      uses,
      problem: `${what}: ${JSON.stringify(text)} does not name schema ${quoteIdent(namespace)} where expected`,
    };
  return {
    text: `${head}${quoteIdent(target)}.${text.slice(head.length + prefix.length)}`,
    uses,
    problem: null,
  };
}

/**
 * Schemas in the order their objects are created: each after the schemas it refers to, otherwise in
 * manifest order. Schemas that refer to each other (a cycle) are cut where the cycle closes: DDL is
 * staged across schemas (types, then routines, then tables...), so only objects of one stage that
 * need each other across such schemas (a view on a view) can still come in the wrong order.
 */
export function creationOrder(
  schemas: readonly string[],
  uses: ReadonlyMap<string, ReadonlySet<string>>,
): string[] {
  const out: string[] = [];
  const placed = new Set<string>();
  const place = (s: string, path: Set<string>) => {
    if (placed.has(s) || path.has(s)) return;
    path.add(s);
    for (const d of schemas) if (d !== s && uses.get(s)?.has(d)) place(d, path);
    path.delete(s);
    placed.add(s);
    out.push(s);
  };
  for (const s of schemas) place(s, new Set());
  return out;
}
