/**
 * The address each account's address-linked contacts follow (`linkWorkAddressToAccount`; the rule is
 * `followAccountAddress` in the domain package): the account's `address`. One row per account that
 * has one. Parameters, `?`-style: the tenant, then the accounts as a `uuid[]` literal. The API's
 * writer and the import worker both read it.
 */
export const ACCOUNT_ADDRESSES_SQL = `select id::text as account_id, address
  from accounts
 where tenant_id = ? and id = any(?::uuid[]) and address is not null`;

/** The same query with `$1`, `$2` placeholders (for node-postgres). */
export const ACCOUNT_ADDRESSES_PG_SQL = ((): string => {
  let n = 0;
  return ACCOUNT_ADDRESSES_SQL.replace(/\?/g, () => `$${String(++n)}`);
})();
