export { type ClaimedComment, type DeadComment, TicketCommentOutbox } from './comment-outbox';
export { customerCommentText } from './customer-comment';
export { buildTicketDraft, extractEntities } from './draft';
export { type DeadTicket, newTicketReference, TicketOutbox, type TicketRequest } from './outbox';
export { TicketService } from './service';
export { crashHookFromEnv, TicketDeliveryWorker } from './worker';
