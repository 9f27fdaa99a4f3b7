export {
  type CaseFacts,
  type CaseLine,
  CaseSummarizer,
  type CaseSummary,
  summarizeByRules,
} from './case-summary';
export { type ClaimedComment, type DeadComment, TicketCommentOutbox } from './comment-outbox';
export { customerCommentText } from './customer-comment';
export { buildTicketDraft, customerQuestion, extractEntities } from './draft';
export { type DeadTicket, newTicketReference, TicketOutbox, type TicketRequest } from './outbox';
export { TicketService } from './service';
export { crashHookFromEnv, TicketDeliveryWorker } from './worker';
