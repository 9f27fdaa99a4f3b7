import type { ComponentType } from 'preact';
import type { Session } from './session';

export interface PageProps {
  session: Session;
}

/**
 * The console's pages, in menu order: one entry each. A page shows in the menu, and opens, only for
 * a caller whose role has its permission (core/security/permissions.ts); the hub's routes check the
 * same permission again on every call, so hiding is a courtesy, not the control.
 */
export interface PageEntry {
  /** `/console/<path>`. */
  path: string;
  title: string;
  permission: string;
  load: () => Promise<{ default: ComponentType<PageProps> }>;
}

export const PAGES: PageEntry[] = [
  {
    path: 'overview',
    title: 'Overview',
    permission: 'analytics.read',
    load: () => import('./pages/overview'),
  },
  {
    path: 'conversations',
    title: 'Conversations',
    permission: 'conversations.read',
    load: () => import('./pages/conversations'),
  },
  {
    path: 'gaps',
    title: 'Knowledge gaps',
    permission: 'knowledge.draft',
    load: () => import('./pages/gaps'),
  },
  {
    path: 'intents',
    title: 'Intents',
    permission: 'intents.read',
    load: () => import('./pages/intents'),
  },
  {
    path: 'workspace',
    title: 'Agent workspace',
    permission: 'tickets.read',
    load: () => import('./pages/workspace'),
  },
];
