// Pointing definitions at renamed target schemas: what is rewritten, what is left, what is refused.
import { describe, expect, it } from 'vitest';
import { selectTables } from '../plan/select.ts';
import { creationOrder, retargetPrefix, retargetSql } from './rename.ts';

const schemas = new Map([
  ['sales', 'sales_v2'],
  ['billing', 'billing_v2'],
  ['Ledger', 'ledger'],
  ['kept', 'kept'],
]);
const sql = (text: string) => retargetSql(text, 'sales', schemas, 'view v in schema "sales"');

describe('retargetSql', () => {
  it('rewrites qualifications by renamed schemas, leaving the own schema to the search_path', () => {
    const r = sql(
      'SELECT c.id, billing.f(o.amount)::billing.money_t FROM billing.customers c JOIN orders o ON o.customer_id = c.id WHERE o.x OPERATOR(billing.+) 1',
    );
    expect(r.problem).toBeNull();
    expect(r.text).toBe(
      'SELECT c.id, "billing_v2".f(o.amount)::"billing_v2".money_t FROM "billing_v2".customers c JOIN orders o ON o.customer_id = c.id WHERE o.x OPERATOR("billing_v2".+) 1',
    );
    expect([...r.uses]).toEqual(['billing']);
  });

  it('rewrites quoted schema names and names inside a reg* literal; leaves other strings (data) alone', () => {
    const r = sql(`nextval('billing.invoice_no'::regclass) || 'billing.invoice_no' || "Ledger"."Entries".x`);
    expect(r.problem).toBeNull();
    expect(r.text).toBe(
      `nextval('"billing_v2".invoice_no'::regclass) || 'billing.invoice_no' || "ledger"."Entries".x`,
    );
    expect(sql(`'"Ledger".t'::regclass`).text).toBe(`'"ledger".t'::regclass`);
  });

  it('tracks schemas kept under their name without changing the text', () => {
    const r = sql('SELECT * FROM kept.t');
    expect(r).toEqual({ text: 'SELECT * FROM kept.t', uses: new Set(['kept']), problem: null });
  });

  it('leaves a column or alias that only shares the name alone', () => {
    expect(sql('SELECT o.billing FROM orders o WHERE billing > 0').text).toBe(
      'SELECT o.billing FROM orders o WHERE billing > 0',
    );
  });

  it('refuses a name used both as a schema and as an alias, table or column', () => {
    for (const text of [
      'SELECT billing.id FROM billing.customers JOIN orders billing ON true',
      'SELECT billing.id FROM billing.billing',
      'SELECT billing.x, o.billing FROM billing.t, orders o',
    ])
      expect(sql(text).problem).toMatch(
        /^view v in schema "sales": names "billing" both as a schema and as something else/,
      );
  });

  it('refuses a routine body that mentions a renamed schema; accepts one that does not', () => {
    const body = (b: string) =>
      `CREATE FUNCTION f(a billing.money_t) RETURNS int LANGUAGE plpgsql AS $function$${b}$function$`;
    expect(sql(body('BEGIN RETURN (SELECT count(*) FROM Billing.customers); END')).problem).toMatch(
      /its body mentions schema "billing", which moves to "billing_v2"; ferry does not rewrite routine bodies/,
    );
    const ok = sql(body('BEGIN RETURN 1; END'));
    expect(ok.problem).toBeNull();
    expect(ok.text).toBe(body('BEGIN RETURN 1; END').replace('a billing.', 'a "billing_v2".'));
  });

  it('does not take numbers or E strings apart', () => {
    expect(sql(`SELECT 1.5e3, E'billing.\\'x', billing.t.c`).text).toBe(
      `SELECT 1.5e3, E'billing.\\'x', "billing_v2".t.c`,
    );
  });
});

describe('retargetPrefix', () => {
  const fk = 'FOREIGN KEY (customer_id) REFERENCES ';
  it("points what PostgreSQL rendered for an OID's namespace at its target", () => {
    expect(
      retargetPrefix(
        `${fk}billing.customers(id) ON DELETE CASCADE`,
        fk,
        'billing.',
        'billing',
        'sales',
        schemas,
        'fk',
      ).text,
    ).toBe(`${fk}"billing_v2".customers(id) ON DELETE CASCADE`);
    expect(
      retargetPrefix('"Ledger".amount[]', '', '"Ledger".', 'Ledger', 'sales', schemas, 'type').text,
    ).toBe('"ledger".amount[]');
  });

  it('leaves own, kept and foreign schemas; refuses text that does not start as rendered', () => {
    expect(retargetPrefix('public.citext', '', 'public.', 'public', 'sales', schemas, 't')).toEqual({
      text: 'public.citext',
      uses: new Set(),
      problem: null,
    });
    expect(retargetPrefix('kept.t', '', 'kept.', 'kept', 'sales', schemas, 't').uses).toEqual(
      new Set(['kept']),
    );
    expect(
      retargetPrefix('x.money_t', '', 'billing.', 'billing', 'sales', schemas, 'the type of c').problem,
    ).toBe('the type of c: "x.money_t" does not name schema "billing" where expected');
  });
});

describe('creationOrder', () => {
  it('puts the schemas others refer to first, manifest order otherwise, a cycle cut where it closes', () => {
    const uses = new Map([
      ['sales', new Set(['billing'])],
      ['billing', new Set<string>()],
    ]);
    expect(creationOrder(['sales', 'billing', 'hr'], uses)).toEqual(['billing', 'sales', 'hr']);
    const cycle = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['a'])],
    ]);
    expect(creationOrder(['a', 'b'], cycle)).toEqual(['b', 'a']);
  });
});

describe('table selection over several schemas', () => {
  const tables = ['sales.orders', 'sales.order_items', 'billing.orders', 'billing.customers'];
  it('matches a dotted pattern against schema.table and a bare one against the table in every schema', () => {
    expect(selectTables(tables, ['orders'], [], new Map(), true)).toEqual(['sales.orders', 'billing.orders']);
    expect(selectTables(tables, ['sales.*'], ['*items'], new Map(), true)).toEqual(['sales.orders']);
    expect(selectTables(tables, ['*'], ['billing.orders'], new Map(), true)).toEqual([
      'sales.orders',
      'sales.order_items',
      'billing.customers',
    ]);
  });

  it('names a pattern that matches nothing', () => {
    expect(() => selectTables(tables, ['hr.*'], [], new Map(), true)).toThrow(
      /spec\.tables\.include: pattern "hr\.\*" matches no table/,
    );
  });
});
