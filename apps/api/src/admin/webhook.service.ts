import { randomUUID } from "node:crypto";

import type { EntityManager } from "@mikro-orm/postgresql";
import { decodeCursor, encodeCursor } from "@contacts/contacts/cursor";
import { generateWebhookSecret } from "@contacts/db/crypto/webhook-secrets";
import type { WebhookSecretBox } from "@contacts/db/crypto/webhook-secrets";
import { ContactsError, ErrorReason } from "@contacts/domain/errors";
import type {
  WebhookDeliveriesInput,
  WebhookDeliveryStatus,
  WebhookEndpointInput,
  WebhookEndpointUpdate,
  WebhookEventType,
  WebhookImportEvents,
  WebhookReplayInput,
} from "@contacts/domain/webhook";
import { WebhookEndpointInput as EndpointInputSchema } from "@contacts/domain/webhook";

/** An endpoint as the admin API shows it: never its secret (that is in the create's answer only). */
export interface WebhookEndpointView {
  id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  importEvents: WebhookImportEvents;
  /** `disabled` after failing for a day (`disabledReason` says why) or when turned off. */
  status: "enabled" | "disabled";
  disabledReason: string | null;
  disabledAt: string | null;
  /** When the current run of failed attempts began; null while deliveries succeed. */
  failingSince: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

/** One entry of an endpoint's delivery log. */
export interface WebhookDeliveryView {
  id: string;
  /** The `webhook-id` header: the same on every attempt and on a replay. */
  messageId: string;
  eventType: string;
  contactIds: string[];
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  replayOf: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  events: WebhookEventType[];
  import_events: WebhookImportEvents;
  status: "enabled" | "disabled";
  disabled_reason: string | null;
  disabled_at: Date | null;
  failing_since: Date | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

interface DeliveryRow {
  id: string;
  seq: string;
  message_id: string;
  event_type: string;
  contact_ids: string[];
  status: WebhookDeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  replay_of: string | null;
  created_at: Date;
  delivered_at: Date | null;
}

const ENDPOINT_COLUMNS = `id, url, description, events, import_events, status, disabled_reason, disabled_at,
  failing_since, created_by, created_at, updated_at`;
const DELIVERY_COLUMNS = `id, seq, message_id, event_type, contact_ids, status, attempts, next_attempt_at,
  last_attempt_at, last_status_code, last_error, replay_of, created_at, delivered_at`;

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function toEndpointView(row: EndpointRow): WebhookEndpointView {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    importEvents: row.import_events,
    status: row.status,
    disabledReason: row.disabled_reason,
    disabledAt: iso(row.disabled_at),
    failingSince: iso(row.failing_since),
    createdBy: row.created_by,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

function toDeliveryView(row: DeliveryRow): WebhookDeliveryView {
  return {
    id: row.id,
    messageId: row.message_id,
    eventType: row.event_type,
    contactIds: row.contact_ids,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === "pending" ? iso(row.next_attempt_at) : null,
    lastAttemptAt: iso(row.last_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    replayOf: row.replay_of,
    createdAt: new Date(row.created_at).toISOString(),
    deliveredAt: iso(row.delivered_at),
  };
}

/** A Postgres array literal of event types (their names need no quoting). */
const textArray = (values: readonly string[]) => `{${values.join(",")}}`;

/** A new Standard Webhooks message id. */
export const newMessageId = () => `msg_${randomUUID().replaceAll("-", "")}`;

const isDeliveryCursor = (v: Record<string, unknown>): v is { seq: number } =>
  Object.keys(v).length === 1 && Number.isSafeInteger(v.seq) && (v.seq as number) > 0;

/**
 * A tenant's webhook endpoints and their delivery log, in the caller's transaction (bound to the
 * tenant: row-level security applies, and every statement names the tenant too).
 */
export class WebhookService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantId: string,
    private readonly secrets: WebhookSecretBox,
  ) {}

  /**
   * A new endpoint and its secret (returned here only). It receives the events committed from now
   * on: its feed position starts at the oldest transaction still running, so a change committing
   * while the endpoint is created is delivered rather than missed.
   */
  async create(
    input: WebhookEndpointInput,
    createdBy: string,
  ): Promise<WebhookEndpointView & { secret: string }> {
    const parsed = EndpointInputSchema.parse(input);
    const id = randomUUID();
    const secret = generateWebhookSecret();
    const ciphertext = this.secrets.encrypt(secret, { tenantId: this.tenantId, endpointId: id });
    const [row] = await this.em.execute<EndpointRow[]>(
      `insert into webhook_endpoints (tenant_id, id, url, description, events, import_events,
                                      secret_ciphertext, cursor_txid, cursor_seq, created_by)
       values (?, ?, ?, ?, ?::text[], ?, ?, pg_snapshot_xmin(pg_current_snapshot()), 0, ?)
       returning ${ENDPOINT_COLUMNS}`,
      [
        this.tenantId,
        id,
        parsed.url,
        parsed.description ?? null,
        textArray(parsed.events),
        parsed.importEvents,
        ciphertext,
        createdBy,
      ],
    );
    if (!row) throw new Error("the endpoint insert returned no row");
    return { ...toEndpointView(row), secret };
  }

  async list(): Promise<WebhookEndpointView[]> {
    const rows = await this.em.execute<EndpointRow[]>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where tenant_id = ? order by created_at, id`,
      [this.tenantId],
    );
    return rows.map(toEndpointView);
  }

  async get(id: string, field = "id"): Promise<WebhookEndpointView> {
    const [row] = await this.em.execute<EndpointRow[]>(
      `select ${ENDPOINT_COLUMNS} from webhook_endpoints where tenant_id = ? and id = ?`,
      [this.tenantId, id],
    );
    if (!row) throw ContactsError.notFound(field);
    return toEndpointView(row);
  }

  /** Changes what is sent; `enabled: true` turns a disabled endpoint on again (its failure run forgotten). */
  async update(input: WebhookEndpointUpdate): Promise<WebhookEndpointView> {
    await this.get(input.id);
    const sets: string[] = ["updated_at = now()"];
    const values: unknown[] = [];
    const set = (sql: string, value: unknown) => {
      sets.push(sql);
      values.push(value);
    };
    if (input.url !== undefined) set("url = ?", input.url);
    if (input.description !== undefined) set("description = ?", input.description);
    if (input.events !== undefined) set("events = ?::text[]", textArray(input.events));
    if (input.importEvents !== undefined) set("import_events = ?", input.importEvents);
    if (input.enabled === true)
      sets.push("status = 'enabled', disabled_reason = null, disabled_at = null, failing_since = null");
    if (input.enabled === false)
      sets.push(
        "status = 'disabled', disabled_reason = coalesce(disabled_reason, 'disabled by an administrator'), disabled_at = coalesce(disabled_at, now())",
      );
    const [row] = await this.em.execute<EndpointRow[]>(
      `update webhook_endpoints set ${sets.join(", ")} where tenant_id = ? and id = ? returning ${ENDPOINT_COLUMNS}`,
      [...values, this.tenantId, input.id],
    );
    if (!row) throw ContactsError.notFound("id");
    return toEndpointView(row);
  }

  /** Deletes the endpoint and its delivery log; pending deliveries are not sent. */
  async delete(id: string): Promise<void> {
    const deleted = await this.em.execute<{ id: string }[]>(
      "delete from webhook_endpoints where tenant_id = ? and id = ? returning id",
      [this.tenantId, id],
    );
    if (!deleted.length) throw ContactsError.notFound("id");
  }

  /** Queues a `webhook.test` message to the endpoint; the worker sends it like any delivery. */
  async test(id: string): Promise<WebhookDeliveryView> {
    const endpoint = await this.get(id);
    if (endpoint.status !== "enabled")
      throw ContactsError.conflict(ErrorReason.conflict, "id", { status: "disabled" });
    const messageId = newMessageId();
    const payload = {
      type: "webhook.test",
      timestamp: new Date().toISOString(),
      data: { endpointId: id, tenantId: this.tenantId },
    };
    const [row] = await this.em.execute<DeliveryRow[]>(
      `insert into webhook_deliveries (tenant_id, endpoint_id, id, message_id, event_type, payload)
       values (?, ?, ?, ?, 'webhook.test', ?::jsonb) returning ${DELIVERY_COLUMNS}`,
      [this.tenantId, id, randomUUID(), messageId, JSON.stringify(payload)],
    );
    if (!row) throw new Error("the delivery insert returned no row");
    return toDeliveryView(row);
  }

  /** One page of an endpoint's deliveries, newest first. */
  async deliveries(
    input: WebhookDeliveriesInput,
  ): Promise<{ items: WebhookDeliveryView[]; nextCursor: string | null }> {
    await this.get(input.endpointId, "endpointId");
    const scope = `admin.webhooks.deliveries:${this.tenantId}:${input.endpointId}`;
    const before = input.cursor ? decodeCursor(input.cursor, scope, isDeliveryCursor).seq : null;
    const rows = await this.em.execute<DeliveryRow[]>(
      `select ${DELIVERY_COLUMNS} from webhook_deliveries
        where tenant_id = ? and endpoint_id = ? and (?::bigint is null or seq < ?::bigint)
          and (?::text is null or status = ?::text)
        order by seq desc limit ?`,
      [
        this.tenantId,
        input.endpointId,
        before,
        before,
        input.status ?? null,
        input.status ?? null,
        input.limit + 1,
      ],
    );
    const page = rows.slice(0, input.limit);
    const last = page.at(-1);
    return {
      items: page.map(toDeliveryView),
      nextCursor: rows.length > input.limit && last ? encodeCursor({ seq: Number(last.seq) }, scope) : null,
    };
  }

  /**
   * Sends deliveries again as new deliveries with the same message id (a receiver that had one
   * dedupes it): the one named, or every failed one of the endpoint. Answers the new deliveries.
   */
  async replay(input: WebhookReplayInput): Promise<WebhookDeliveryView[]> {
    await this.get(input.endpointId, "endpointId");
    const rows = await this.em.execute<DeliveryRow[]>(
      `insert into webhook_deliveries (tenant_id, endpoint_id, id, message_id, event_type, contact_ids, payload, replay_of)
       select d.tenant_id, d.endpoint_id, gen_random_uuid(), d.message_id, d.event_type, d.contact_ids, d.payload, d.id
         from webhook_deliveries d
        where d.tenant_id = ? and d.endpoint_id = ?
          and (case when ?::uuid is null then d.status = 'failed' else d.id = ?::uuid end)
        order by d.seq
       returning ${DELIVERY_COLUMNS}`,
      [this.tenantId, input.endpointId, input.deliveryId ?? null, input.deliveryId ?? null],
    );
    if (input.deliveryId && !rows.length) throw ContactsError.notFound("deliveryId");
    return rows.map(toDeliveryView);
  }
}
