import { buildConsole } from '../../scripts/build-console.mjs';

/** Vitest global setup: the console's bundle is built before any test serves it (only when stale). */
export default async function setup(): Promise<void> {
  await buildConsole();
}
