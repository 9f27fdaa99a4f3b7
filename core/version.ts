import { readFileSync } from 'node:fs';

/** The hub's release, package.json `version`: `hub --version`, the API description and traces report it. */
export const hubVersion: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
