import { accountsRouter } from "./accounts/accounts.router.js";
import { adminRouter } from "./admin/admin.router.js";
import { contactsRouter } from "./contacts/contacts.router.js";
import { importsRouter } from "./imports/imports.router.js";
import { meRouter } from "./me/me.router.js";
import { rolesRouter } from "./roles/roles.router.js";
import { router } from "./trpc/init.js";

/** The whole API. Clients import only its type. */
export const appRouter = router({
  contacts: contactsRouter,
  accounts: accountsRouter,
  roles: rolesRouter,
  imports: importsRouter,
  me: meRouter,
  admin: adminRouter,
});

export type AppRouter = typeof appRouter;
