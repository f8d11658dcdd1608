// A MariaDB database `every_type` with one column of every type ferry maps, and edge values:
// maxima, minima, NULLs, special characters (the MySQL-source load and digest tests).
export const EVERY_TYPE_MYSQL = `
CREATE DATABASE every_type CHARACTER SET utf8mb4;
USE every_type;
CREATE TABLE t (
  id int NOT NULL PRIMARY KEY,
  b tinyint(1), ti tinyint, tiu tinyint unsigned, si smallint, siu smallint unsigned,
  mi mediumint, miu mediumint unsigned, i int, iu int unsigned, bi bigint, biu bigint unsigned,
  d65 decimal(65,30), d decimal(10,2), f float, dbl double,
  bt1 bit(1), bt10 bit(10), bt64 bit(64), y year,
  dt date, dtm datetime, dtm6 datetime(6), ts timestamp(6) NULL, tm time, tm6 time(6),
  ch char(5), vc varchar(40), tx text, lt longtext,
  bin binary(4), vb varbinary(10), bl blob,
  e enum('small','medium','large','it''s'), s set('red','green','blue'),
  j json, u uuid, ip inet6
);
INSERT INTO t VALUES
 (1, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
  99999999999999999999999999999999999.999999999999999999999999999999, -12345678.99, 3.4028234e38, 1.7976931348623157e308,
  b'1', b'1010101010', b'1111111111111111111111111111111111111111111111111111111111111111', 2155,
  '9999-12-31', '9999-12-31 23:59:59', '2024-02-29 12:34:56.789012', '2038-01-19 03:14:07.999999', '838:59:59', '-838:59:59.000000',
  'ab', 'tab\\there "q" \\\\ back', 'line1\\nline2\\r\\n', REPEAT('x', 100000),
  0x00ff1020, 0x5c0a09, 0x00,
  'it''s', 'red,blue', '{"b": 1,  "a": [1, 2.50, "x"], "b": 2}', '123e4567-e89b-12d3-a456-426614174000', '2001:db8::1'),
 (2, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -0.000000000000000000000000000001, 0, 1.4e-45, 4.9406564584124654e-324,
  b'0', b'0000000001', b'0', 1901,
  '1000-01-01', '1000-01-01 00:00:00', '0001-01-01 00:00:00.000001', '1970-01-01 00:00:01', '-838:59:59', '00:00:00.000001',
  '', '', '', '',
  0x00000000, '', '',
  'small', '', '[]', '00000000-0000-0000-0000-000000000000', '::ffff:1.2.3.4'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1.5, 0.10, 1.2345678, 0.1,
  NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, '-00:00:01', '-00:00:01.5',
  '  x', 'é', NULL, NULL, NULL, NULL, NULL, 'medium', 'green', '"x"', NULL, NULL);
`;
