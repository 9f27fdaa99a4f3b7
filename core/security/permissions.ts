/**
 * Who may do what: the one table of roles and permissions. Every admin and agent route names the
 * permission it needs in its Fastify route config (`config: { permission, openapi }`); the guard
 * (core/security/guard.ts) checks the caller's role against this table, and the permission matrix
 * test walks every route of a started hub against it.
 */
export const ROLES = ['admin', 'supervisor', 'agent', 'analyst'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  /** Read tickets and their transcripts (an analyst's transcripts go through `transcriptView`). */
  'tickets.read': ['admin', 'supervisor', 'agent', 'analyst'],
  /** Take, reply to, solve and close tickets (an agent: unassigned ones and their own). */
  'tickets.act': ['admin', 'supervisor', 'agent'],
  /** Assign a ticket to another operator (the agent workspace's assign). */
  'tickets.assign': ['admin', 'supervisor'],
  /**
   * Search conversations and read their transcripts with each turn's trace (the console's
   * Conversations page; an analyst's transcripts go through `transcriptView`). Not agents: they
   * read the conversations handed to them through their tickets, and browsing every customer's
   * conversations is review work, not answering.
   */
  'conversations.read': ['admin', 'supervisor', 'analyst'],
  /** Files customers sent in a conversation. */
  'conversations.files': ['admin', 'supervisor', 'agent'],
  /** The models' breaker and canary status. */
  'models.read': ['admin', 'analyst'],
  /** Reset a model's breaker or canary. */
  'models.manage': ['admin'],
  /** Channel set-up (the WhatsApp Web QR code). */
  'channels.manage': ['admin'],
  /** Operator accounts and roles, API keys. */
  'operators.manage': ['admin'],
  /** The business figures (GET /admin/analytics): conversations, containment, CSAT, response times. */
  'analytics.read': ['admin', 'supervisor', 'analyst'],
  /** The intents page (GET /admin/intents...): confidence distribution, evaluations, the review queue (analysts: text masked). */
  'intents.read': ['admin', 'supervisor', 'analyst'],
  /** Label a recognized turn with its right intent (a pending training example). */
  'intents.label': ['admin', 'supervisor'],
  /** Approve or reject labels (approved ones become training examples) and run the offline evaluation. */
  'intents.manage': ['admin', 'supervisor'],
  /**
   * The knowledge gaps (questions the bot could not answer, masked) and drafts of entries for them:
   * agents too, who answer those questions every day; a draft reaches no customer until published.
   */
  'knowledge.draft': ['admin', 'supervisor', 'agent'],
  /** Publish a knowledge draft into the knowledge base (the bot answers from it at once), or reject it. */
  'knowledge.publish': ['admin', 'supervisor'],
  /** Erase a customer's data (right to be forgotten). */
  'customers.erase': ['admin'],
  /** One's own session: who am I, log out. */
  'session.self': ['admin', 'supervisor', 'agent', 'analyst'],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

/** A route anyone may call (a login page, the console's static files). Declared, never assumed. */
export const PUBLIC = 'public' as const;
export type RouteAccess = Permission | typeof PUBLIC;

export function isPermission(value: unknown): value is Permission {
  return typeof value === 'string' && Object.hasOwn(PERMISSIONS, value);
}

export function roleAllows(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Every tenant: the scope of an admin and of an operator created with `--tenants '*'`. */
export const ALL_TENANTS = '*';

export function inTenantScope(tenants: readonly string[], tenant: string): boolean {
  return tenants.includes(ALL_TENANTS) || tenants.includes(tenant);
}
