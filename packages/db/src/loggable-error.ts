/**
 * What of a thrown error may go into a log line. A driver error's message quotes the statement and
 * its values (MikroORM: `insert into ... values (...) - duplicate key ...`), PostgreSQL's own message
 * and `detail` quote the offending value (`Key (email)=(ada@example.com) already exists`), and a
 * message may span lines, so the stack's first lines are data too. Kept: the class, PostgreSQL's
 * SQLSTATE and the names of the objects involved, and the stack's `at` frames.
 */
export interface LoggableError {
  errorClass: string | undefined;
  code?: string;
  constraint?: string;
  table?: string;
  column?: string;
  routine?: string;
  frames?: string;
}

const NAMED_FIELDS = ["constraint", "table", "column", "routine"] as const;
const MAX_FRAMES = 8;

export function loggableError(error: unknown): LoggableError {
  if (error === null || typeof error !== "object") return { errorClass: typeof error };
  const ctor = (error as { constructor?: { name?: unknown } }).constructor;
  const out: LoggableError = { errorClass: typeof ctor?.name === "string" ? ctor.name : undefined };
  // MikroORM wraps the driver's error; the SQLSTATE and names sit on either.
  const sources = [error, (error as { cause?: unknown }).cause].filter(
    (e): e is Record<string, unknown> => e !== null && typeof e === "object",
  );
  for (const source of sources) {
    const code = source.code;
    if (out.code === undefined && typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) out.code = code;
    for (const field of NAMED_FIELDS) {
      const value = source[field];
      if (out[field] === undefined && typeof value === "string" && /^[\w.$-]{1,128}$/.test(value)) {
        out[field] = value;
      }
    }
  }
  const stack = (error as { stack?: unknown }).stack;
  if (typeof stack === "string") {
    const frames = stack
      .split("\n")
      .filter((line) => /^\s+at /.test(line))
      .slice(0, MAX_FRAMES);
    if (frames.length > 0) out.frames = frames.join("\n");
  }
  return out;
}
