import type { Kysely } from 'kysely';
import { AtRest } from '../privacy/at-rest';
import { HubError } from '../types/errors';

/**
 * The sealer of each open database. Store modules that own tables (tickets, the demo helpdesk,
 * rejected webhooks) are built from the store's Kysely handle; they find its sealer here, so no
 * module can write a row of personal data through a handle that has none.
 */
const sealers = new WeakMap<object, AtRest>();

export function bindAtRest(db: Kysely<never> | Kysely<unknown> | object, atRest: AtRest): void {
  sealers.set(db, atRest);
}

export function atRestOf(db: object): AtRest {
  const atRest = sealers.get(db);
  if (!atRest) {
    throw new HubError(
      'store.no_sealer',
      'This database handle has no encryption-at-rest keys. Fix: open it with createStore (core/store), which binds them.',
    );
  }
  return atRest;
}

export { AtRest };
