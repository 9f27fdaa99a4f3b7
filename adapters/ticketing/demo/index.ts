import { z } from 'zod';
import { defineHelpdesk } from '../descriptor';
import { registerAgentConsole } from './console';
import { DemoTicketing } from './demo';

export { DemoTicketing } from './demo';
export { DemoDesk } from './desk';

/** The embedded helpdesk: tickets in the hub's database, agents in the hub's console (/agent). */
export const demoHelpdesk = defineHelpdesk({
  name: 'demo',
  options: z.object({}),
  create: (_options, context) => new DemoTicketing(context.db),
  routes: registerAgentConsole,
  online: { skipped: "local: tickets in the hub's database" },
});
