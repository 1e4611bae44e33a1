/** One page of a paged procedure. */
export interface PageOf<T> {
  items: T[];
  nextCursor: string | null;
}

/** Anything with a `query(input)` that answers a page: a paged procedure of the typed client. */
export interface PagedQuery<I, T> {
  query(input: I): Promise<PageOf<T>>;
}

/**
 * Walks every page of a paged procedure, yielding each page; stops after the page whose
 * `nextCursor` is null.
 *
 * ```ts
 * for await (const page of pages(api.contacts.search, { lastName: "smi", limit: 500 })) ...
 * ```
 */
export async function* pages<I extends { cursor?: string | null }, T>(
  procedure: PagedQuery<I, T>,
  input: Omit<I, "cursor">,
): AsyncGenerator<PageOf<T>, void, undefined> {
  let cursor: string | null = null;
  do {
    const page: PageOf<T> = await procedure.query({ ...input, cursor } as I);
    yield page;
    cursor = page.nextCursor;
  } while (cursor !== null);
}

/**
 * Walks every item of every page of a paged procedure (`contacts.search`, `contacts.list`,
 * `contacts.descendants`, `accounts.list`, ...), fetching the next page only when needed.
 *
 * ```ts
 * for await (const contact of iterate(api.contacts.list, { accountId, role: "BILLING" })) ...
 * ```
 */
export async function* iterate<I extends { cursor?: string | null }, T>(
  procedure: PagedQuery<I, T>,
  input: Omit<I, "cursor">,
): AsyncGenerator<T, void, undefined> {
  for await (const page of pages(procedure, input)) yield* page.items;
}
