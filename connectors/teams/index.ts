import type { ChannelDescriptor } from '../../core/channels/descriptor';
import { createTeamsConnector } from './connector';
import { checkTeamsOnline } from './online';
import { teamsHints, teamsOptionsSchema } from './options';

export const teamsChannel: ChannelDescriptor = {
  type: 'teams',
  options: { schema: teamsOptionsSchema, hints: teamsHints },
  create: createTeamsConnector,
  online: checkTeamsOnline,
};
