import { randomBytes } from 'node:crypto';
import { AtRest, LocalKeyProvider } from '../../core/privacy/at-rest';
import { conversationLookup } from '../../core/store/rows';

/**
 * Data keys shared by a test and the hub processes it starts (they inherit the environment), so
 * the test can read what they sealed: sets HUB_DATA_KEYS and HUB_DATA_LOOKUP_KEY for this test file.
 */
export function shareDataKeys(): { atRest: AtRest; conversation: (key: string) => string } {
  const key = randomBytes(32);
  const lookup = randomBytes(32);
  process.env.HUB_DATA_KEYS = `test:${key.toString('base64')}`;
  process.env.HUB_DATA_LOOKUP_KEY = lookup.toString('base64');
  delete process.env.HUB_DATA_KEY_ACTIVE;
  const atRest = new AtRest(new LocalKeyProvider(new Map([['test', key]]), 'test', lookup));
  return { atRest, conversation: (conversationKey) => conversationLookup(atRest, conversationKey) };
}
