import { setTimeout as sleep } from "node:timers/promises";

import pg from "pg";

/** What a listener tells its owner. */
export interface NotificationHandlers {
  /** A notification on the channel (delivered by PostgreSQL once its transaction committed). */
  notified(payload: string): void;
  /**
   * The connection is up and listening again after `lost` (notifications in between were missed),
   * or for the first time.
   */
  listening(): void;
  /** The connection dropped: notifications may be missed until `listening` is called again. */
  lost(error: Error | null): void;
}

/**
 * One dedicated connection that LISTENs on a channel, reconnecting (after 100 ms, doubling up to
 * 5 s) whenever it drops. Started by `start()`, which waits for the first LISTEN.
 */
export class NotificationListener {
  private client: pg.Client | null = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private readonly wake = new AbortController();

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly handlers: NotificationHandlers,
    private readonly applicationName = "contacts-listen",
  ) {}

  /** Connects and listens; resolves once listening (rejects if the first attempt fails). */
  async start(): Promise<void> {
    const { ended } = await this.connect();
    this.running = this.keepListening(ended);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.abort();
    await this.client?.end().catch(() => undefined);
    await this.running;
  }

  /** One connection: resolves with the error that ended it (null: ended without one) once it ends. */
  private async connect(): Promise<{ ended: Promise<Error | null> }> {
    const client = new pg.Client({ connectionString: this.url, application_name: this.applicationName });
    const ended = new Promise<Error | null>((resolve) => {
      client.once("error", (error: Error) => resolve(error));
      client.once("end", () => resolve(null));
    });
    try {
      await client.connect();
      client.on("notification", (message) => {
        if (message.channel === this.channel) this.handlers.notified(message.payload ?? "");
      });
      await client.query(`listen ${pg.escapeIdentifier(this.channel)}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    this.client = client;
    this.handlers.listening();
    return { ended };
  }

  /** Read afresh (a check after an await must not be narrowed by the one before it). */
  private hasStopped(): boolean {
    return this.stopped;
  }

  private async keepListening(ended: Promise<Error | null>): Promise<void> {
    let delayMs = 100;
    for (;;) {
      const error = await ended;
      this.client = null;
      if (this.stopped) return;
      this.handlers.lost(error);
      for (;;) {
        await sleep(delayMs, undefined, { signal: this.wake.signal }).catch(() => undefined);
        if (this.hasStopped()) return;
        try {
          ({ ended } = await this.connect());
          delayMs = 100;
          break;
        } catch {
          delayMs = Math.min(5_000, delayMs * 2);
        }
      }
    }
  }
}
