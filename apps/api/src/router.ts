import { contactsRouter } from "./contacts/contacts.router.js";
import { router } from "./trpc/init.js";

/** The whole API. Clients import only its type. */
export const appRouter = router({
  contacts: contactsRouter,
});

export type AppRouter = typeof appRouter;
