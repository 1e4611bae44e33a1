import type { Duplex } from "node:stream";

import { ErrorReason } from "@contacts/domain/errors";

interface Answer {
  status: number;
  statusText: string;
  reason: ErrorReason;
  message: string;
  /** The tRPC error code and its JSON-RPC number. */
  code: string;
  rpcCode: number;
}

const MALFORMED: Answer = {
  status: 400,
  statusText: "Bad Request",
  reason: ErrorReason.invalid,
  message: "malformed HTTP request",
  code: "PARSE_ERROR",
  rpcCode: -32700,
};

const ANSWERS: Record<string, Answer> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    statusText: "Request Header Fields Too Large",
    reason: ErrorReason.tooLong,
    message: "the request line and headers are over 16 KB: send a long query input in a POST body",
    code: "BAD_REQUEST",
    rpcCode: -32600,
  },
  // Node's headersTimeout / requestTimeout: the request did not arrive in time.
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    statusText: "Request Timeout",
    reason: ErrorReason.timeout,
    message: "the request did not arrive in time",
    code: "TIMEOUT",
    rpcCode: -32008,
  },
};

/**
 * Node answers a request it cannot parse (a request line and headers over its 16 KB limit, broken
 * HTTP, a request that does not arrive in time) itself, with an empty body. This handler gives that answer the API's error body instead:
 * `errors: [{ reason, field }]` beside the tRPC-shaped `error`, so both the typed client and a plain
 * HTTP caller read it.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A response of this connection already started (keep-alive): another one would corrupt it.
  const started = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
  if (error.code === "ECONNRESET" || !socket.writable || started) {
    socket.destroy();
    return;
  }
  const answer = ANSWERS[error.code ?? ""] ?? MALFORMED;
  const errors = [{ reason: answer.reason, field: null }];
  const body = JSON.stringify({
    message: answer.message,
    errors,
    error: {
      message: answer.message,
      code: answer.rpcCode,
      data: { code: answer.code, httpStatus: answer.status, errors },
    },
  });
  socket.end(
    `HTTP/1.1 ${answer.status} ${answer.statusText}\r\n` +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}
