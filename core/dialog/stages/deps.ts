import type { HubConfig } from '../../config/schema';
import type { LlmClient } from '../../types';
import type { DialogCommands } from '../commands';
import type { Catalog } from '../flows/messages';
import type { DialogKit } from '../setup';

/** What the default stages read: configuration, the dialog kit, and the hub's order and ticket side. */
export interface StageDeps {
  config: HubConfig;
  dialog: DialogKit;
  /** For follow-up rewrites (the answer action has its own). */
  llm?: LlmClient;
  commands?: DialogCommands;
  /** Every message a reply key can name: the flows' and the policy's. */
  catalog: Catalog;
}
