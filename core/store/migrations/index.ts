import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './0001_initial';
import * as tickets from './0002_tickets';
import * as handoff from './0003_handoff';
import * as ticketComments from './0004_ticket_comments';
import * as apiKeys from './0005_api_keys';
import * as auditChain from './0006_audit_chain';
import * as operators from './0007_operators';
import * as rejectedWebhooks from './0008_rejected_webhooks';
import * as retention from './0010_retention';
import * as businessMetrics from './0011_business_metrics';
import * as systemFigures from './0012_system_figures';
import * as knowledgeDrafts from './0013_knowledge_drafts';
import * as intentReview from './0014_intent_review';
import * as deskCommentKind from './0015_desk_comment_kind';
import * as ticketCommentStatus from './0016_ticket_comment_status';
import * as conversationsRecent from './0017_conversations_recent';
import * as pendingAudit from './0018_pending_audit';

/**
 * Every migration, in order, imported statically: bundles and `tsx` runs need no filesystem
 * scan. Add the next one as `NNNN_name.ts` and one line here (tickets and the outbox come next).
 * Names sort lexically, which is the order Kysely's Migrator applies them in.
 */
export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_tickets': tickets,
  '0003_handoff': handoff,
  '0004_ticket_comments': ticketComments,
  '0005_api_keys': apiKeys,
  '0006_audit_chain': auditChain,
  '0007_operators': operators,
  '0008_rejected_webhooks': rejectedWebhooks,
  '0010_retention': retention,
  '0011_business_metrics': businessMetrics,
  '0012_system_figures': systemFigures,
  '0013_knowledge_drafts': knowledgeDrafts,
  '0014_intent_review': intentReview,
  '0015_desk_comment_kind': deskCommentKind,
  '0016_ticket_comment_status': ticketCommentStatus,
  '0017_conversations_recent': conversationsRecent,
  '0018_pending_audit': pendingAudit,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
