/** Queue names shared by the API (producer) and the worker (consumer). */
export const IMPORT_QUEUE = "contacts-import";
