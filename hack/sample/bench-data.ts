// The benchmark's database: one large table (`events`, about 60% of the heap bytes) and a spread of
// smaller ones with text, json, jsonb, numeric and bytea columns, primary keys, unique and secondary
// indexes (partial, expression), check constraints and foreign keys, so that what comes after the
// copy (indexes, keys, validation, ANALYZE) weighs what it does in a real database. Generated
// server-side with generate_series on two connections at once, deterministic (no random()), keys
// and indexes built after the load, then VACUUM ANALYZE so that no contender pays for hint bits.
import pg from 'pg';
import { quoteIdent } from '../../engine/db/ident.ts';

/** Each table's share of the heap bytes and its approximate heap bytes per row (measured on PG15). */
export const BENCH_TABLES = {
  events: { share: 0.6, rowBytes: 186 },
  documents: { share: 0.1, rowBytes: 900 },
  order_items: { share: 0.09, rowBytes: 61 },
  orders: { share: 0.07, rowBytes: 80 },
  accounts: { share: 0.06, rowBytes: 223 },
  payments: { share: 0.05, rowBytes: 198 },
  products: { share: 0.03, rowBytes: 464 },
} as const;

const TABLES = `
  CREATE TABLE categories (id integer NOT NULL, name text NOT NULL, parent_id integer);
  CREATE TABLE accounts (id bigint NOT NULL, email text NOT NULL, name text NOT NULL, profile jsonb NOT NULL,
    balance numeric(14,2) NOT NULL, created_at timestamptz NOT NULL);
  CREATE TABLE products (id integer NOT NULL, category_id integer NOT NULL, sku text NOT NULL, title text NOT NULL,
    description text NOT NULL, attributes jsonb NOT NULL, price numeric(10,2) NOT NULL, thumbnail bytea);
  CREATE TABLE orders (id bigint NOT NULL, account_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL,
    note text, placed_at timestamptz NOT NULL);
  CREATE TABLE order_items (order_id bigint NOT NULL, line smallint NOT NULL, product_id integer NOT NULL,
    qty integer NOT NULL, unit_price numeric(10,2) NOT NULL);
  CREATE TABLE payments (id bigint NOT NULL, order_id bigint NOT NULL, amount numeric(12,2) NOT NULL, method text NOT NULL,
    details json NOT NULL, receipt bytea NOT NULL, paid_at timestamptz NOT NULL);
  CREATE TABLE documents (id bigint NOT NULL, account_id bigint NOT NULL, title text NOT NULL, body text NOT NULL,
    metadata json NOT NULL, attachment bytea, updated_at timestamptz NOT NULL);
  CREATE TABLE events (id bigint NOT NULL, account_id bigint NOT NULL, kind text NOT NULL, payload jsonb NOT NULL,
    amount numeric(12,2), digest bytea NOT NULL, created_at timestamptz NOT NULL);
  CREATE SEQUENCE orders_id_seq OWNED BY orders.id;
  ALTER TABLE orders ALTER id SET DEFAULT nextval('orders_id_seq');`;

type Counts = Record<keyof typeof BENCH_TABLES, number>;

/** The small tables' rows (the counts are integers we computed, inlined as literals). */
const smallData = (n: Counts) => `
  INSERT INTO categories SELECT g, 'category ' || g, CASE WHEN g > 20 THEN 1 + g % 20 END FROM generate_series(1, 200) g;
  INSERT INTO accounts SELECT g, 'user' || g || '@example.com', 'Account ' || md5(g::text),
    jsonb_build_object('locale', (ARRAY['en','de','fr','ja'])[1 + g % 4], 'newsletter', g % 3 = 0,
      'tags', jsonb_build_array('t' || g % 7, 't' || g % 11), 'score', (g % 1000) / 7.0),
    ((g::bigint * 7919) % 10000000) / 100.0, timestamptz '2020-01-01' + g * interval '1 minute'
    FROM generate_series(1, ${n.accounts}) g;
  INSERT INTO products SELECT g, 1 + g % 200, 'SKU-' || lpad(g::text, 8, '0'), 'Product ' || md5(g::text),
    repeat('A fine product. ', 8 + g % 8), jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + g % 3],
      'weight_g', g % 5000, 'dims', jsonb_build_array(g % 50, g % 30, g % 20)),
    (g % 100000) / 100.0 + 0.99, CASE WHEN g % 5 <> 0 THEN decode(repeat(md5(g::text), 4), 'hex') END
    FROM generate_series(1, ${n.products}) g;
  INSERT INTO orders SELECT g, 1 + g % ${n.accounts}, (ARRAY['new','paid','shipped','cancelled'])[1 + g % 4],
    (g % 100000) / 100.0 + 0.5, CASE WHEN g % 3 = 0 THEN 'leave at the door ' || g END,
    timestamptz '2023-06-01' + g * interval '1 second'
    FROM generate_series(1, ${n.orders}) g;
  SELECT setval('orders_id_seq', ${n.orders});
  INSERT INTO order_items SELECT o, l, 1 + (o * l) % ${n.products}, 1 + (o + l) % 5, ((o * l) % 10000) / 100.0 + 0.99
    FROM generate_series(1, ${n.order_items}) o, generate_series(1, 1 + (o % 3)::integer) l;
  INSERT INTO payments SELECT g, 1 + g % ${n.orders}, (g % 100000) / 100.0 + 0.5, (ARRAY['card','transfer','wallet'])[1 + g % 3],
    json_build_object('provider', 'psp' || g % 9, 'reference', md5(g::text), 'captured', g % 10 <> 0),
    decode(md5(g::text) || md5((g + 1)::text), 'hex'), timestamptz '2023-06-01' + g * interval '1 second'
    FROM generate_series(1, ${n.payments}) g;
  INSERT INTO documents SELECT g, 1 + g % ${n.accounts}, 'Document ' || g,
    repeat('Lorem ipsum dolor sit amet ' || g || '. ', 20), json_build_object('version', g % 17, 'lang', 'en'),
    CASE WHEN g % 2 = 0 THEN decode(repeat(md5(g::text), 8), 'hex') END, timestamptz '2024-01-01' + g * interval '1 minute'
    FROM generate_series(1, ${n.documents}) g;`;

const eventsData = (n: Counts) => `
  INSERT INTO events SELECT g, 1 + g % ${n.accounts}, (ARRAY['view','click','buy','refund'])[1 + g % 4],
    jsonb_build_object('session', md5(g::text), 'page', '/p/' || (g % 977), 'n', g, 'ok', g % 5 <> 0),
    CASE WHEN g % 4 = 2 THEN (g % 1000000) / 100.0 END, decode(md5(g::text), 'hex'),
    timestamptz '2025-01-01' + g * interval '10 ms'
    FROM generate_series(1, ${n.events}) g;`;

const SMALL_KEYS = `
  ALTER TABLE categories ADD PRIMARY KEY (id), ADD UNIQUE (name);
  ALTER TABLE accounts ADD PRIMARY KEY (id), ADD UNIQUE (email);
  CREATE INDEX accounts_by_locale ON accounts ((profile->>'locale'), created_at);
  ALTER TABLE products ADD PRIMARY KEY (id), ADD UNIQUE (sku), ADD CHECK (price >= 0);
  CREATE INDEX products_by_category ON products (category_id);
  ALTER TABLE orders ADD PRIMARY KEY (id), ADD CHECK (status IN ('new','paid','shipped','cancelled'));
  CREATE INDEX orders_by_account ON orders (account_id, placed_at DESC);
  ALTER TABLE order_items ADD PRIMARY KEY (order_id, line), ADD CHECK (qty > 0);
  CREATE INDEX order_items_by_product ON order_items (product_id);
  ALTER TABLE payments ADD PRIMARY KEY (id);
  CREATE INDEX payments_by_order ON payments (order_id);
  ALTER TABLE documents ADD PRIMARY KEY (id);
  CREATE INDEX documents_by_account ON documents (account_id, updated_at);`;

const EVENTS_KEYS = `
  ALTER TABLE events ADD PRIMARY KEY (id);
  CREATE INDEX events_by_account ON events (account_id, created_at);
  CREATE INDEX events_by_kind ON events (kind) WHERE kind <> 'view';`;

/** The same statements on MariaDB (bench-data-mysql.ts). */
export const FOREIGN_KEYS = `
  ALTER TABLE categories ADD FOREIGN KEY (parent_id) REFERENCES categories (id);
  ALTER TABLE products ADD FOREIGN KEY (category_id) REFERENCES categories (id);
  ALTER TABLE orders ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
  ALTER TABLE order_items ADD FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
    ADD FOREIGN KEY (product_id) REFERENCES products (id);
  ALTER TABLE payments ADD FOREIGN KEY (order_id) REFERENCES orders (id);
  ALTER TABLE documents ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
  ALTER TABLE events ADD FOREIGN KEY (account_id) REFERENCES accounts (id);`;

/** Row counts for about `bytes` of heap; order_items counts the orders that have lines (2 on average). */
export function benchCounts(bytes: number): Counts {
  const n = (t: keyof typeof BENCH_TABLES) =>
    Math.max(100, Math.round((BENCH_TABLES[t].share * bytes) / BENCH_TABLES[t].rowBytes));
  return {
    events: n('events'),
    documents: n('documents'),
    order_items: Math.min(n('orders'), Math.round(n('order_items') / 2)),
    orders: n('orders'),
    accounts: n('accounts'),
    payments: n('payments'),
    products: n('products'),
  };
}

/** Creates `schema` (which must not exist) in the database at `url` with about `bytes` of heap. */
export async function createBenchDatabase(url: string, schema: string, bytes: number): Promise<void> {
  const n = benchCounts(bytes);
  const [small, large] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
  await Promise.all([small.connect(), large.connect()]);
  try {
    const path = `SET search_path = ${quoteIdent(schema)}`;
    await small.query(`CREATE SCHEMA ${quoteIdent(schema)}; ${path}; ${TABLES}`);
    await large.query(path);
    await Promise.all([
      small.query(smallData(n)).then(() => small.query(SMALL_KEYS)),
      large.query(eventsData(n)).then(() => large.query(EVENTS_KEYS)),
    ]);
    await small.query(FOREIGN_KEYS);
    await Promise.all([
      small.query('VACUUM ANALYZE categories, accounts, products, orders, order_items, payments, documents'),
      large.query('VACUUM ANALYZE events'),
    ]);
  } finally {
    await Promise.all([small.end(), large.end()]);
  }
}
