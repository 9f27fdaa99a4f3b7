export {
  type HelpdeskInbound,
  type HelpdeskRoutes,
  type SignatureVerdict,
  type SignedHelpdeskWebhook,
  type SignedRequest,
  webhookSecretSchema,
} from './inbound';
export { handoffEventId, helpdeskPayloadSchema, interpret } from './payload';
export { type HandoffDeps, HandoffReceiver } from './receiver';
export { registerHelpdeskWebhooks } from './webhooks';
