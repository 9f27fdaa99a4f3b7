/** Types of scripts/build-console.mjs for the TypeScript callers (the test suite's global setup). */
export function consoleIsStale(): boolean;
export function buildConsole(options?: { force?: boolean }): Promise<boolean>;
