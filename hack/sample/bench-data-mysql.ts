// The benchmark's database on MariaDB: the same tables, row counts and values as bench-data.ts
// (benchCounts), in MariaDB's types (jsonb and json become JSON, text stays text, bytea VARBINARY or
// BLOB, timestamptz TIMESTAMP(6)), generated server-side from the sequence engine on two connections
// at once. MariaDB has no partial or expression indexes, so `events_by_kind` is a plain index and
// `accounts_by_locale` is on (created_at) alone. Secondary indexes and foreign keys come after the
// load, then ANALYZE TABLE, as on PostgreSQL.
import { createConnection } from 'mysql2/promise';
import type { ConnectionOptions } from 'mysql2';
import { mysqlIdent } from '../../engine/source/mysql/read.ts';
import { benchCounts, FOREIGN_KEYS } from './bench-data.ts';

type Counts = ReturnType<typeof benchCounts>;

const TABLES = `
  CREATE TABLE categories (id int NOT NULL PRIMARY KEY, name varchar(100) NOT NULL, parent_id int);
  CREATE TABLE accounts (id bigint NOT NULL PRIMARY KEY, email varchar(200) NOT NULL, name text NOT NULL,
    profile json NOT NULL, balance decimal(14,2) NOT NULL, created_at timestamp(6) NOT NULL);
  CREATE TABLE products (id int NOT NULL PRIMARY KEY, category_id int NOT NULL, sku varchar(20) NOT NULL,
    title text NOT NULL, description text NOT NULL, attributes json NOT NULL, price decimal(10,2) NOT NULL,
    thumbnail blob, CHECK (price >= 0));
  CREATE TABLE orders (id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, account_id bigint NOT NULL,
    status varchar(16) NOT NULL, total decimal(12,2) NOT NULL, note text, placed_at timestamp(6) NOT NULL,
    CHECK (status IN ('new','paid','shipped','cancelled')));
  CREATE TABLE order_items (order_id bigint NOT NULL, line smallint NOT NULL, product_id int NOT NULL,
    qty int NOT NULL, unit_price decimal(10,2) NOT NULL, PRIMARY KEY (order_id, line), CHECK (qty > 0));
  CREATE TABLE payments (id bigint NOT NULL PRIMARY KEY, order_id bigint NOT NULL, amount decimal(12,2) NOT NULL,
    method varchar(16) NOT NULL, details json NOT NULL, receipt varbinary(32) NOT NULL, paid_at timestamp(6) NOT NULL);
  CREATE TABLE documents (id bigint NOT NULL PRIMARY KEY, account_id bigint NOT NULL, title text NOT NULL,
    body text NOT NULL, metadata json NOT NULL, attachment blob, updated_at timestamp(6) NOT NULL);
  CREATE TABLE events (id bigint NOT NULL PRIMARY KEY, account_id bigint NOT NULL, kind varchar(16) NOT NULL,
    payload json NOT NULL, amount decimal(12,2), digest varbinary(16) NOT NULL, created_at timestamp(6) NOT NULL);`;

// ELT(i, ...) is PostgreSQL's (ARRAY[...])[i]; seq_1_to_N is generate_series(1, N).
const smallData = (n: Counts) => `
  INSERT INTO categories SELECT seq, CONCAT('category ', seq), IF(seq > 20, 1 + seq % 20, NULL) FROM seq_1_to_200;
  INSERT INTO accounts SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('Account ', MD5(seq)),
    JSON_OBJECT('locale', ELT(1 + seq % 4, 'en', 'de', 'fr', 'ja'), 'newsletter', seq % 3 = 0,
      'tags', JSON_ARRAY(CONCAT('t', seq % 7), CONCAT('t', seq % 11)), 'score', (seq % 1000) / 7.0),
    ((seq * 7919) % 10000000) / 100.0, TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq MINUTE
    FROM seq_1_to_${n.accounts};
  INSERT INTO products SELECT seq, 1 + seq % 200, CONCAT('SKU-', LPAD(seq, 8, '0')), CONCAT('Product ', MD5(seq)),
    REPEAT('A fine product. ', 8 + seq % 8), JSON_OBJECT('color', ELT(1 + seq % 3, 'red', 'green', 'blue'),
      'weight_g', seq % 5000, 'dims', JSON_ARRAY(seq % 50, seq % 30, seq % 20)),
    (seq % 100000) / 100.0 + 0.99, IF(seq % 5 <> 0, UNHEX(REPEAT(MD5(seq), 4)), NULL)
    FROM seq_1_to_${n.products};
  INSERT INTO orders SELECT seq, 1 + seq % ${n.accounts}, ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'),
    (seq % 100000) / 100.0 + 0.5, IF(seq % 3 = 0, CONCAT('leave at the door ', seq), NULL),
    TIMESTAMP'2023-06-01 00:00:00' + INTERVAL seq SECOND
    FROM seq_1_to_${n.orders};
  INSERT INTO order_items SELECT o.seq, l.seq, 1 + (o.seq * l.seq) % ${n.products}, 1 + (o.seq + l.seq) % 5,
    ((o.seq * l.seq) % 10000) / 100.0 + 0.99
    FROM seq_1_to_${n.order_items} o JOIN seq_1_to_3 l ON l.seq <= 1 + o.seq % 3;
  INSERT INTO payments SELECT seq, 1 + seq % ${n.orders}, (seq % 100000) / 100.0 + 0.5, ELT(1 + seq % 3, 'card', 'transfer', 'wallet'),
    JSON_OBJECT('provider', CONCAT('psp', seq % 9), 'reference', MD5(seq), 'captured', seq % 10 <> 0),
    UNHEX(CONCAT(MD5(seq), MD5(seq + 1))), TIMESTAMP'2023-06-01 00:00:00' + INTERVAL seq SECOND
    FROM seq_1_to_${n.payments};
  INSERT INTO documents SELECT seq, 1 + seq % ${n.accounts}, CONCAT('Document ', seq),
    REPEAT(CONCAT('Lorem ipsum dolor sit amet ', seq, '. '), 20), JSON_OBJECT('version', seq % 17, 'lang', 'en'),
    IF(seq % 2 = 0, UNHEX(REPEAT(MD5(seq), 8)), NULL), TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq MINUTE
    FROM seq_1_to_${n.documents};`;

const eventsData = (n: Counts) => `
  INSERT INTO events SELECT seq, 1 + seq % ${n.accounts}, ELT(1 + seq % 4, 'view', 'click', 'buy', 'refund'),
    JSON_OBJECT('session', MD5(seq), 'page', CONCAT('/p/', seq % 977), 'n', seq, 'ok', seq % 5 <> 0),
    IF(seq % 4 = 2, (seq % 1000000) / 100.0, NULL), UNHEX(MD5(seq)),
    TIMESTAMP'2025-01-01 00:00:00' + INTERVAL seq * 10000 MICROSECOND
    FROM seq_1_to_${n.events};`;

const SMALL_KEYS = `
  ALTER TABLE categories ADD UNIQUE (name);
  ALTER TABLE accounts ADD UNIQUE (email), ADD INDEX accounts_by_created (created_at);
  ALTER TABLE products ADD UNIQUE (sku), ADD INDEX products_by_category (category_id);
  ALTER TABLE orders ADD INDEX orders_by_account (account_id, placed_at DESC);
  ALTER TABLE order_items ADD INDEX order_items_by_product (product_id);
  ALTER TABLE payments ADD INDEX payments_by_order (order_id);
  ALTER TABLE documents ADD INDEX documents_by_account (account_id, updated_at);`;

const EVENTS_KEYS = `ALTER TABLE events ADD INDEX events_by_account (account_id, created_at), ADD INDEX events_by_kind (kind);`;

/** Creates `database` (dropped first) with about `bytes` of data, the same rows as PostgreSQL's. */
export async function createMysqlBenchDatabase(
  server: ConnectionOptions,
  database: string,
  bytes: number,
): Promise<void> {
  const n = benchCounts(bytes);
  const connect = () => createConnection({ ...server, multipleStatements: true });
  const [small, large] = await Promise.all([connect(), connect()]);
  try {
    const db = mysqlIdent(database);
    await small.query(
      `DROP DATABASE IF EXISTS ${db}; CREATE DATABASE ${db} CHARACTER SET utf8mb4; USE ${db}; ${TABLES}`,
    );
    await large.query(`USE ${db}`);
    // UTC, as ferry and pgloader read timestamps: the values are PostgreSQL's in any server zone.
    for (const c of [small, large]) await c.query("SET time_zone = '+00:00'");
    await Promise.all([
      small.query(smallData(n)).then(() => small.query(SMALL_KEYS)),
      large.query(eventsData(n)).then(() => large.query(EVENTS_KEYS)),
    ]);
    // The rows are known to hold: foreign_key_checks = 0 adds each key without a scan.
    await small.query(`SET foreign_key_checks = 0; ${FOREIGN_KEYS} SET foreign_key_checks = 1`);
    await small.query(
      'ANALYZE TABLE categories, accounts, products, orders, order_items, payments, documents, events',
    );
  } finally {
    await Promise.all([small.end(), large.end()]);
  }
}
