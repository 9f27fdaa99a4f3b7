import { HubError } from '../types/errors';

/** The error of a save refused because a newer lock holder already wrote; retrying cannot help. */
export function fenced(key: string, token: number, highest: number | string): HubError {
  return new HubError(
    'state.fenced',
    `State of ${key} was written with fencing token ${highest}; refusing token ${token} from an older lock holder.`,
    { retryable: false, status: 409 },
  );
}
