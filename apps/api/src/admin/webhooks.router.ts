import { z } from "zod";
import { Id } from "@contacts/domain/common";
import {
  WebhookDeliveriesInput,
  WebhookEndpointInput,
  WebhookEndpointUpdate,
  WebhookReplayInput,
} from "@contacts/domain/webhook";

import { procedureWith, router } from "../trpc/init.js";
import { WebhookService } from "./webhook.service.js";

const admin = procedureWith("admin");

const WebhookEndpointResponse = z
  .looseObject({ id: Id, url: z.string(), status: z.enum(["enabled", "disabled"]) })
  .meta({ id: "WebhookEndpoint" });
const WebhookDeliveryResponse = z
  .looseObject({ id: Id, messageId: z.string(), status: z.string(), attempts: z.number() })
  .meta({ id: "WebhookDelivery" });

/** Webhook endpoints of the caller's tenant (admin permission); the worker delivers (apps/worker/src/webhooks). */
export const webhooksRouter = router({
  /** A new endpoint; its signing secret (`whsec_...`) is in this answer only. */
  create: admin
    .meta({
      openapi: {
        method: "POST",
        path: "/admin/webhooks",
        summary: "Subscribe an endpoint to the change feed (the signing secret is shown once)",
        status: 201,
        response: WebhookEndpointResponse,
      },
    })
    .input(WebhookEndpointInput)
    .mutation(({ ctx, input }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).create(
        input,
        ctx.principal.subject,
      ),
    ),

  list: admin
    .meta({
      openapi: {
        method: "GET",
        path: "/admin/webhooks",
        summary: "The tenant's webhook endpoints and their status (never their secrets)",
        response: z.array(WebhookEndpointResponse),
      },
    })
    .query(({ ctx }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).list(),
    ),

  update: admin
    .meta({
      openapi: {
        method: "PATCH",
        path: "/admin/webhooks/{id}",
        summary: "Change an endpoint (URL, events, import events), or enable or disable it",
        description:
          "The members sent change; the others stay. `enabled: true` turns a disabled endpoint on again.",
        response: WebhookEndpointResponse,
      },
    })
    .input(WebhookEndpointUpdate)
    .mutation(({ ctx, input }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).update(input),
    ),

  delete: admin
    .meta({
      openapi: {
        method: "DELETE",
        path: "/admin/webhooks/{id}",
        summary: "Delete an endpoint and its delivery log",
        status: 204,
      },
    })
    .input(z.strictObject({ id: Id }))
    .mutation(async ({ ctx, input }) => {
      await new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).delete(input.id);
      return { id: input.id, deleted: true };
    }),

  /** Queues a signed `webhook.test` message to the endpoint; its delivery shows in `deliveries`. */
  test: admin
    .meta({
      openapi: {
        method: "POST",
        path: "/admin/webhooks/{id}/test",
        summary: "Send a signed test message to the endpoint",
        status: 201,
        response: WebhookDeliveryResponse,
      },
    })
    .input(z.strictObject({ id: Id }))
    .mutation(({ ctx, input }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).test(input.id),
    ),

  deliveries: admin
    .meta({
      openapi: {
        method: "GET",
        path: "/admin/webhooks/{endpointId}/deliveries",
        summary: "An endpoint's delivery log, newest first: status, attempts, last error",
        cursorParam: "cursor",
        response: z.looseObject({
          items: z.array(WebhookDeliveryResponse),
          nextCursor: z.string().nullable(),
        }),
      },
    })
    .input(WebhookDeliveriesInput)
    .query(({ ctx, input }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).deliveries(input),
    ),

  /** Sends one delivery again, or every failed one of the endpoint (same `webhook-id`). */
  replay: admin
    .meta({
      openapi: {
        method: "POST",
        path: "/admin/webhooks/{endpointId}/replay",
        summary: "Send a delivery again, or every failed delivery of the endpoint",
        response: z.array(WebhookDeliveryResponse),
      },
    })
    .input(WebhookReplayInput)
    .mutation(({ ctx, input }) =>
      new WebhookService(ctx.em, ctx.principal.tenantId, ctx.services.webhookSecrets).replay(input),
    ),
});
