import type { OnlineCheck } from '../../core/channels/types';
import { parseChannelOptions } from '../shared/options';
import { createGraphClient, GraphApiError } from './graph';
import { whatsappHints, whatsappOptionsSchema } from './options';

/**
 * `hub validate --online`: `GET /{version}/{phone-number-id}` with the access token, which proves
 * the token and the number id together (the same call as the connector's readiness probe).
 */
export const checkWhatsAppOnline: OnlineCheck = async (config, { signal }) => {
  const options = parseChannelOptions({ config }, whatsappOptionsSchema, whatsappHints);
  signal.throwIfAborted();
  const step = `GET /${options.apiVersion}/${options.phoneNumberId}`;
  let number: { display_phone_number?: string; verified_name?: string };
  try {
    number = await createGraphClient(options).getPhoneNumber();
  } catch (error) {
    if (!(error instanceof GraphApiError)) {
      const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new Error(
        `${step}: no answer from ${new URL(options.graphApiUrl).origin} (${code}). Fix: check graphApiUrl and the network.`,
      );
    }
    if (error.status === 401 || error.code === 190) {
      throw new Error(
        `${step}: ${error.message} (the access token is wrong, expired or revoked). Fix: ${whatsappHints.accessToken}.`,
      );
    }
    if (error.code === 100 || error.status === 404) {
      throw new Error(
        `${step}: ${error.message} (no such phone number, or this token's system user cannot see it). Fix: ${whatsappHints.phoneNumberId}, and give the system user the WhatsApp account.`,
      );
    }
    if (error.status === 403 || error.code === 10 || error.code === 200) {
      throw new Error(
        `${step}: ${error.message} (the token lacks a permission). Fix: ${whatsappHints.accessToken}.`,
      );
    }
    throw new Error(
      `${step}: ${error.message}. Fix: retry later; Graph may be unavailable or rate-limiting.`,
    );
  }
  return `number ${number.display_phone_number ?? options.phoneNumberId}${number.verified_name ? ` (${number.verified_name})` : ''}`;
};
