import { describe, expect, it } from 'vitest';
import { table } from '../../../test/support/catalog.ts';
import { fenceTriggersDdl, ownTriggers, storeNameMax, triggerName } from './fence.ts';
import { grantee, missingMysqlGrants, mysqlNeeds } from './prepare.ts';

describe('the MySQL write fence', () => {
  it("names ferry's triggers by store, timing, event and table position, and tells them from another store's", () => {
    expect(triggerName('ferry_m1', 'b', 'u', 12)).toBe('ferry_m1_bu12');
    expect(
      ownTriggers('ferry_m1', [
        'ferry_m1_bi0',
        'ferry_m1_ad3',
        'ferry_m1_x_bi0',
        'ferry_m10_bi0',
        'app_trigger',
      ]),
    ).toEqual(['ferry_m1_bi0', 'ferry_m1_ad3']);
    // 64 characters: `_` + timing + event + the largest position.
    expect(storeNameMax(100)).toBe(59);
  });

  it('refuses with a message MySQL can carry (128 characters) and notes the table while detecting', () => {
    const [insert] = fenceTriggersDdl('ferry_m', 'a'.repeat(60), 'shop', table('orders'), 0);
    expect(insert).toContain('BEFORE INSERT ON `shop`.`orders`');
    const message = /MESSAGE_TEXT = '([^']*)'/.exec(insert!)![1]!;
    expect(message.length).toBe(128);
    expect(message.startsWith('ferry: orders is fenced for the downtime of migration aaa')).toBe(true);
    expect(insert).toContain("INSERT IGNORE INTO `ferry_m`.`writes_seen` (tbl) VALUES ('orders')");
  });
});

describe('MySQL privileges', () => {
  it('names every GRANT the user lacks, per database, with the pattern covering every store', () => {
    const held = new Set(['shop/SELECT', '*/PROCESS']);
    expect(
      missingMysqlGrants(grantee('ferry@%'), mysqlNeeds('shop', 'ferry_m'), (db, p) =>
        held.has(`${db}/${p}`),
      ),
    ).toEqual([
      "GRANT TRIGGER, LOCK TABLES ON `shop`.* TO 'ferry'@'%';",
      "GRANT CREATE, DROP, SELECT, INSERT, UPDATE, DELETE, ALTER ON `ferry\\_%`.* TO 'ferry'@'%';",
    ]);
    expect(missingMysqlGrants("'a'@'b'", mysqlNeeds('shop', 'ferry_m'), () => true)).toEqual([]);
  });

  it("quotes the user's name and host as GRANT wants them", () => {
    expect(grantee("o'brien@10.0.%")).toBe("'o''brien'@'10.0.%'");
    expect(grantee('me@x@localhost')).toBe("'me@x'@'localhost'");
  });
});
