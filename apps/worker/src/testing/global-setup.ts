export { default } from "@contacts/db/testing/global-setup";
