import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HUB_MALLOC_TRIM_THRESHOLD, HUB_NODE_OPTIONS } from '../../bench/children';

/** The benches run the hub with the flags `npm start` and the image give it: one truth, checked here. */
const ROOT = join(import.meta.dirname, '..', '..');

it('runs the benches’ hub with the Node flags and glibc setting of npm start and the image', () => {
  const start = (
    JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }
  ).scripts.start;
  expect(start).toContain(
    `MALLOC_TRIM_THRESHOLD_=${HUB_MALLOC_TRIM_THRESHOLD} node ${HUB_NODE_OPTIONS} bin/hub.mjs start`,
  );
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  expect(dockerfile).toContain(`NODE_OPTIONS=${HUB_NODE_OPTIONS}`);
  expect(dockerfile).toContain(`MALLOC_TRIM_THRESHOLD_=${HUB_MALLOC_TRIM_THRESHOLD}`);
});
