/** The part of pg-boss that creating a queue needs (kept structural: this package does not load pg-boss). */
export interface QueueCreator {
  getQueue(name: string): Promise<unknown>;
  createQueue(name: string): Promise<void>;
}

const DEADLOCK = "40P01";
const UNIQUE_VIOLATION = "23505";

/**
 * Creates the queue unless it exists. pg-boss's `create_queue` run by two processes at once (two
 * API processes starting together, or one beside the worker) can deadlock or collide on the queue
 * row; the loser looks again and finds the queue the winner made.
 */
export async function ensureQueue(boss: QueueCreator, name: string, attempts = 5): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (await boss.getQueue(name)) return;
    try {
      await boss.createQueue(name);
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if ((code !== DEADLOCK && code !== UNIQUE_VIOLATION) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}
