import type { AddressInfo } from "node:net";

import { serve } from "@hono/node-server";
import type { ServerType } from "@hono/node-server";
import { createOrm } from "@contacts/db/orm";
import type { MikroORM } from "@contacts/db/orm";

import { createApp } from "./http/app.js";
import type { Logger } from "./logger.js";

export interface RunningServer {
  url: string;
  orm: MikroORM;
  close(): Promise<void>;
}

export interface ServerOptions {
  databaseUrl: string;
  host: string;
  port: number;
  log: Logger;
  maxBodyBytes: number;
  maxBatchSize: number;
}

/** Opens the ORM and serves the app over HTTP. Port 0 picks a free port (tests). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const orm = await createOrm({ url: options.databaseUrl, poolMax: 20 });
  const app = createApp({
    orm,
    log: options.log,
    maxBodyBytes: options.maxBodyBytes,
    maxBatchSize: options.maxBatchSize,
  });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    orm,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await orm.close();
    },
  };
}
