import type { Duplex } from "node:stream";

import { ErrorReason } from "@contacts/domain/errors";

/**
 * Node answers a request it cannot parse (a request line and headers over its 16 KB limit, broken
 * HTTP) itself, with an empty body. This handler gives that answer the API's error body instead:
 * `errors: [{ reason, field }]` beside the tRPC-shaped `error`, so both the typed client and a plain
 * HTTP caller read it.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const status = tooLarge ? 431 : 400;
  const message = tooLarge
    ? "the request line and headers are over 16 KB: send a long query input in a POST body"
    : "malformed HTTP request";
  const errors = [{ reason: tooLarge ? ErrorReason.tooLong : ErrorReason.invalid, field: null }];
  const body = JSON.stringify({
    message,
    errors,
    error: {
      message,
      code: tooLarge ? -32600 : -32700,
      data: { code: tooLarge ? "BAD_REQUEST" : "PARSE_ERROR", httpStatus: status, errors },
    },
  });
  socket.end(
    `HTTP/1.1 ${status} ${tooLarge ? "Request Header Fields Too Large" : "Bad Request"}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
