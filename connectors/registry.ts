import type { ChannelRegistry } from '../core/channels/descriptor';
import { restChannel } from './rest';
import { slackChannel } from './slack';
import { teamsChannel } from './teams';
import { telegramChannel } from './telegram';
import { webchatChannel } from './webchat';
import { whatsappChannel } from './whatsapp';
import { whatsappWebChannel } from './whatsapp-web';

/** Channel types: a new channel is its folder and one line here. */
export const channelRegistry: ChannelRegistry = [
  restChannel,
  webchatChannel,
  telegramChannel,
  slackChannel,
  teamsChannel,
  whatsappChannel,
  whatsappWebChannel,
];
