import { type ChannelDescriptor, loadedOnDemand } from '../../core/channels/descriptor';
import { teamsHints, teamsOptionsSchema } from './options';

/** The connector and its platform SDK are imported only where a teams block is enabled (or checked online). */
export const teamsChannel: ChannelDescriptor = {
  type: 'teams',
  options: { schema: teamsOptionsSchema, hints: teamsHints },
  ...loadedOnDemand('teams', async () => (await import('./connector')).createTeamsConnector),
  online: async (config, context) => (await import('./online')).checkTeamsOnline(config, context),
};
