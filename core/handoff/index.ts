export { handoffEventId, helpdeskPayloadSchema, interpret } from './payload';
export { type HandoffDeps, HandoffReceiver } from './receiver';
export { signGeneric, signZendesk, verifyGenericSignature, verifyZendeskSignature } from './signature';
export { registerHelpdeskWebhooks } from './webhooks';
