/**
 * The telephone each account's phone-linked contacts follow (`linkWorkPhoneToAccount`; the rule is
 * `followAccountPhone` in the domain package): the account's oldest `general` channel holding a
 * telephone. One row per account that has one. Parameters, `?`-style: the tenant, then the accounts
 * as a `uuid[]` literal. The API's writer and the import worker both read it.
 */
export const ACCOUNT_PHONES_SQL = `select distinct on (account_id) account_id::text as account_id, telephone
  from account_channels
 where tenant_id = ? and account_id = any(?::uuid[]) and label = 'general' and telephone is not null
 order by account_id, created_at, id`;

/** The same query with `$1`, `$2` placeholders (for node-postgres). */
export const ACCOUNT_PHONES_PG_SQL = ((): string => {
  let n = 0;
  return ACCOUNT_PHONES_SQL.replace(/\?/g, () => `$${String(++n)}`);
})();
