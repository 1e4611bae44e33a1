// One PostgreSQL server per test run, as in the db package.
export { default } from "@contacts/db/testing/global-setup";
