import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { hubConfigSchema } from '../../core/config/schema';
import { createStore, type KyselyStore } from '../../core/store/index';

/** The real server's maintenance database; each test file creates and drops a database of its own. */
export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ScratchDatabase {
  name: string;
  /** Connection string of the scratch database (same server and user as ADMIN_URL). */
  url: string;
  create(): Promise<void>;
  /** Drops it even while connections to it remain. */
  drop(): Promise<void>;
}

/** A database named `<prefix>_<random hex>` on the real server: `create()` before the tests, `drop()` after. */
export function scratchDatabase(prefix: string): ScratchDatabase {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    create: () => adminQuery(`create database ${name}`),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

export interface TestStore {
  store: KyselyStore;
  /** Closes the store (and drops its scratch database). */
  dispose(): Promise<void>;
}

/** A migrated store on embedded in-memory PGlite, or on a scratch database of the real PostgreSQL server. */
export async function openTestStore(driver: 'pglite' | 'postgres', prefix = 'hub_test'): Promise<TestStore> {
  if (driver === 'pglite') {
    const store = await createStore(
      hubConfigSchema.parse({ database: { driver: 'pglite', dataDir: 'memory://' } }),
    );
    return { store, dispose: () => store.close() };
  }
  const database = scratchDatabase(prefix);
  await database.create();
  const store = await createStore(
    hubConfigSchema.parse({ database: { driver: 'postgres', url: database.url } }),
  ).catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  return {
    store,
    async dispose() {
      await store.close();
      await database.drop();
    },
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
