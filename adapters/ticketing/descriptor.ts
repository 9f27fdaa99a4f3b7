import type { Kysely } from 'kysely';
import type { TicketingConfig } from '../../core/config/adapters-schema';
import type { AnyPluginDescriptor, PluginDescriptor } from '../../core/config/plugins';
import type { HelpdeskRoutes, SignedHelpdeskWebhook } from '../../core/handoff/inbound';
import type { TicketDatabase } from '../../core/tickets/schema';
import type { TicketingAdapter } from '../../core/types';

export interface HelpdeskContext {
  /** The generic `ticketing:` keys (timeoutMs, ...). */
  ticketing: Pick<TicketingConfig, 'timeoutMs'>;
  /** The hub's database: the embedded helpdesk keeps its tickets there. */
  db: Kysely<TicketDatabase>;
}

/**
 * One helpdesk: its name (the value of `ticketing.driver`), the schema of its block
 * `ticketing.<name>`, its factory, and how its agents' updates reach the hub (a signed webhook,
 * or routes of its own). Registered with one line in adapters/ticketing/index.ts.
 */
export interface HelpdeskDescriptor<Options = unknown> extends PluginDescriptor<Options> {
  create(options: Options, context: HelpdeskContext): TicketingAdapter;
  readonly webhook?: SignedHelpdeskWebhook;
  readonly routes?: HelpdeskRoutes;
}

/** Any helpdesk descriptor, as the registry holds it: its factory takes what its own schema parsed. */
export type AnyHelpdeskDescriptor = AnyPluginDescriptor &
  Omit<HelpdeskDescriptor, 'create' | 'online'> & {
    create(options: never, context: HelpdeskContext): TicketingAdapter;
  };

/** Types a descriptor's factory by its own schema's output. */
export const defineHelpdesk = <Options>(
  descriptor: HelpdeskDescriptor<Options>,
): HelpdeskDescriptor<Options> => descriptor;
