/**
 * Work of a tenant running at once in this process (CSV exports): `acquire` answers a release
 * function while fewer than `max` run, else null. With several API processes each counts its own.
 */
export class TenantSlots {
  private readonly running = new Map<string, number>();

  acquire(tenantId: string, max: number): (() => void) | null {
    const now = this.running.get(tenantId) ?? 0;
    if (now >= max) return null;
    this.running.set(tenantId, now + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(tenantId) ?? 1) - 1;
      if (left > 0) this.running.set(tenantId, left);
      else this.running.delete(tenantId);
    };
  }
}
