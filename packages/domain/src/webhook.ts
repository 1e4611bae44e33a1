import { z } from "zod";

import { Id, PageInput } from "./common.js";

/** The pg-boss queue webhook delivery attempts are sent to. */
export const WEBHOOK_QUEUE = "webhook-delivery";

/**
 * What an endpoint can subscribe to: the change feed's event types (`contact.<type>`), one summary
 * per committed import chunk (`contacts.imported`), and the test message `admin.webhooks.test` sends
 * (always delivered, whatever the endpoint subscribes to).
 */
export const WebhookEventType = z.enum([
  "contact.created",
  "contact.updated",
  "contact.merged",
  "contact.deleted",
  "contacts.imported",
]);
export type WebhookEventType = z.infer<typeof WebhookEventType>;

/** How an import's writes reach an endpoint: one `contacts.imported` per chunk, or every record's event. */
export const WebhookImportEvents = z.enum(["summary", "records"]);
export type WebhookImportEvents = z.infer<typeof WebhookImportEvents>;

/** An endpoint URL: absolute http(s), no credentials in it, at most 2,000 characters. */
export const WebhookUrl = z
  .string()
  .trim()
  .max(2000)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "https:" || url.protocol === "http:") && !url.username && !url.password;
    } catch {
      return false;
    }
  }, "an absolute http(s) URL without credentials");

const WebhookEvents = z
  .array(WebhookEventType)
  .min(1)
  .refine((list) => new Set(list).size === list.length, "events are listed twice");

/** `admin.webhooks.create`: the URL, the events (default: all), how imports are sent (default: summary). */
export const WebhookEndpointInput = z.strictObject({
  url: WebhookUrl,
  description: z.string().trim().max(500).optional(),
  events: WebhookEvents.default([...WebhookEventType.options]),
  importEvents: WebhookImportEvents.default("summary"),
});
export type WebhookEndpointInput = z.input<typeof WebhookEndpointInput>;

/** `admin.webhooks.update`: what is sent changes; `enabled: true` turns a disabled endpoint on again. */
export const WebhookEndpointUpdate = z.strictObject({
  id: Id,
  url: WebhookUrl.optional(),
  description: z.string().trim().max(500).nullable().optional(),
  events: WebhookEvents.optional(),
  importEvents: WebhookImportEvents.optional(),
  enabled: z.boolean().optional(),
});
export type WebhookEndpointUpdate = z.infer<typeof WebhookEndpointUpdate>;

export const WebhookDeliveryStatus = z.enum(["pending", "delivered", "failed"]);
export type WebhookDeliveryStatus = z.infer<typeof WebhookDeliveryStatus>;

/** `admin.webhooks.deliveries`: one endpoint's delivery log, newest first, cursor paged. */
export const WebhookDeliveriesInput = z.strictObject({
  ...PageInput.shape,
  endpointId: Id,
  status: WebhookDeliveryStatus.optional(),
});
export type WebhookDeliveriesInput = z.infer<typeof WebhookDeliveriesInput>;

/**
 * `admin.webhooks.replay`: sends one delivery again (same `webhook-id`, so a receiver that had it
 * dedupes it), or with no `deliveryId` every failed delivery of the endpoint.
 */
export const WebhookReplayInput = z.strictObject({ endpointId: Id, deliveryId: Id.optional() });
export type WebhookReplayInput = z.infer<typeof WebhookReplayInput>;

/** The pg-boss job of one delivery attempt. */
export interface WebhookJobData {
  tenantId: string;
  deliveryId: string;
}
