import { type Copy, DockerfileParser, type From, type Instruction } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { existsInRepo, readRepoFile } from './repo';

/**
 * Static checks of the hub's Dockerfile (Docker cannot run on the development machines). The rules,
 * after hadolint's where one exists:
 *   pinned-base   every FROM names a version tag, never `latest` or none (DL3006, DL3007); the Node
 *                 base is node:<major.minor.patch>-bookworm-slim, the version scripts/node24.sh installs
 *   non-root      each image stage ends as a non-root numeric user (DL3002)
 *   npm-ci        dependencies come from the lockfile: `npm ci --omit=dev`, never `npm install` (DL3016's aim)
 *   apt           apt-get install with --no-install-recommends, lists removed in the same RUN (DL3015, DL3009)
 *   healthcheck   a HEALTHCHECK that asks /healthz
 *   init          ENTRYPOINT runs tini as PID 1, exec form; CMD exec form (DL3025)
 *   no-secrets    no ENV or ARG whose name says token, secret, password or key
 *   copy          COPY not ADD (DL3020); every COPY source exists and .dockerignore does not drop it
 *   variants      the default (last) stage has no Chromium; the whatsapp-web stage adds it
 *   writable      the only declared volume is the data folder, created for the runtime user
 */
const text = readRepoFile('Dockerfile');
const dockerfile = DockerfileParser.parse(text);
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();

const globalArgs = new Map<string, string>(
  Array.from(text.slice(0, text.search(/^FROM /m)).matchAll(/^ARG (\w+)=(\S+)$/gm), (m) => [
    m[1] as string,
    m[2] as string,
  ]),
);
const expand = (value: string) =>
  value.replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs.get(name) ?? '');

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}
const stages: Stage[] = froms.map((from: From, index) => {
  const start = from.getRange().start.line;
  const end = froms[index + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
  return {
    name: from.getBuildStage() ?? String(index),
    base: expand(from.getImage() ?? ''),
    instructions: instructions.filter(
      (i) => i.getRange().start.line > start && i.getRange().start.line < end,
    ),
  };
});
const stageNames = new Set(stages.map((stage) => stage.name));
const byKeyword = (list: Instruction[], keyword: string) => list.filter((i) => i.getKeyword() === keyword);
const args = (i: Instruction) => i.getArgumentsContent() ?? '';

/** A stage's instructions, its ancestors' first (FROM <stage> inherits USER, ENV, ENTRYPOINT, HEALTHCHECK). */
function effective(stage: Stage): Instruction[] {
  const parent = stages.find((s) => s.name === stage.base);
  return parent ? [...effective(parent), ...stage.instructions] : stage.instructions;
}
/** Stages that only build something for the image (dependencies, the console's bundle). */
const BUILD_STAGES = new Set(['deps', 'console']);
const imageStages = stages.filter((stage) => !BUILD_STAGES.has(stage.name));
const defaultStage = stages.at(-1) as Stage;

describe('Dockerfile (hadolint-like rules)', () => {
  it('pinned-base: every external base names a version; Node is the exact release CI tests on', () => {
    const external = stages.filter((stage) => !stageNames.has(stage.base));
    expect(external.length).toBeGreaterThan(0);
    for (const { base } of external) {
      expect(base, base).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(base, base).not.toMatch(/:latest$/);
    }
    const node24 = readRepoFile('scripts/node24.sh').match(/HUB_NODE_VERSION:-([\d.]+)/)?.[1];
    expect(node24).toMatch(/^24\.\d+\.\d+$/);
    for (const { base } of external) expect(base).toBe(`node:${node24}-bookworm-slim`);
  });

  it('non-root: every image stage runs as a numeric non-root user', () => {
    for (const stage of imageStages) {
      const user = byKeyword(effective(stage), 'USER').at(-1);
      expect(user, `stage ${stage.name} sets no USER`).toBeDefined();
      const [uid] = args(user as Instruction).split(':');
      expect(uid, stage.name).toMatch(/^\d+$/);
      expect(Number(uid), stage.name).toBeGreaterThan(0);
    }
  });

  it('npm-ci: dependencies install from the lockfile, production only, with install scripts off', () => {
    const runs = byKeyword(instructions, 'RUN').map(args);
    expect(runs.some((run) => /\bnpm install\b|\bnpm i\b/.test(run))).toBe(false);
    const installs = runs.filter((run) => /\bnpm ci\b/.test(run));
    // One production install for the image; the console stage's full install never reaches it.
    expect(installs.filter((run) => /--omit=dev/.test(run))).toHaveLength(1);
    for (const install of installs) expect(install).toMatch(/--ignore-scripts/);
    const console = stages.find((stage) => stage.name === 'console');
    const fromConsole = byKeyword(instructions, 'COPY')
      .map(args)
      .filter((copy) => copy.includes('/app/console/dist'));
    expect(console, 'a console build stage').toBeDefined();
    expect(fromConsole).toEqual(['/app/console/dist ./console/dist']);
    const copied = byKeyword(instructions, 'COPY').map(args);
    expect(copied.some((c) => c.includes('package-lock.json'))).toBe(true);
  });

  it('apt: no recommended packages, no package lists left in a layer', () => {
    for (const run of byKeyword(instructions, 'RUN').map(args)) {
      if (!run.includes('apt-get install')) continue;
      expect(run).toMatch(/apt-get install -y --no-install-recommends/);
      expect(run).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
    }
  });

  it('healthcheck: every image stage checks /healthz', () => {
    for (const stage of imageStages) {
      const check = byKeyword(effective(stage), 'HEALTHCHECK').at(-1);
      expect(check, stage.name).toBeDefined();
      expect(args(check as Instruction)).toMatch(/\/healthz/);
    }
  });

  it('init: tini is PID 1 and ENTRYPOINT and CMD are exec form', () => {
    for (const stage of imageStages) {
      const entrypoint = args(byKeyword(effective(stage), 'ENTRYPOINT').at(-1) as Instruction);
      const cmd = args(byKeyword(effective(stage), 'CMD').at(-1) as Instruction);
      expect(JSON.parse(entrypoint)).toEqual(['/usr/bin/tini', '--', 'node', 'bin/hub.mjs']);
      expect(JSON.parse(cmd)).toEqual(['start']);
    }
    expect(existsInRepo('bin/hub.mjs')).toBe(true);
    expect(byKeyword(instructions, 'RUN').some((run) => /install[^&]*\btini\b/.test(args(run)))).toBe(true);
  });

  it('no-secrets: no ENV or ARG that names a secret', () => {
    const secretName = /TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL/i;
    const names = [
      ...dockerfile.getENVs().flatMap((env) => env.getProperties().map((p) => p.getName())),
      ...dockerfile.getARGs().flatMap((arg) => arg.getProperties().map((p) => p.getName())),
      ...globalArgs.keys(),
    ];
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name) => secretName.test(name))).toEqual([]);
  });

  it('copy: COPY, not ADD; every source exists and is in the build context', () => {
    expect(byKeyword(instructions, 'ADD')).toEqual([]);
    const ignored = readRepoFile('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    for (const copy of byKeyword(instructions, 'COPY')) {
      // COPY --from=<stage> copies out of another stage, not from the build context.
      if ((copy as Copy).getFlags().some((flag) => flag.getName() === 'from')) continue;
      const parts = args(copy).split(/\s+/);
      for (const source of parts.slice(0, -1)) {
        expect(existsInRepo(source), `COPY ${source}`).toBe(true);
        expect(ignored, `${source} is in .dockerignore`).not.toContain(source);
      }
    }
  });

  it('variants: the default image has no Chromium; the whatsapp-web target adds Debian Chromium', () => {
    expect(defaultStage.name).toBe('hub');
    const installs = (stage: Stage) =>
      byKeyword(effective(stage), 'RUN')
        .map(args)
        .filter((run) => run.includes('apt-get install'))
        .join(' ');
    expect(installs(defaultStage)).not.toMatch(/chromium/);
    const whatsapp = stages.find((stage) => stage.name === 'whatsapp-web') as Stage;
    expect(installs(whatsapp)).toMatch(/\bchromium\b/);
  });

  it('writable: one volume, the data folder, owned by the runtime user', () => {
    const volumes = byKeyword(instructions, 'VOLUME').map(args);
    expect(volumes).toEqual(['["/app/.hub-data"]']);
    const user = args(byKeyword(effective(defaultStage), 'USER').at(-1) as Instruction);
    expect(byKeyword(instructions, 'RUN').map(args)).toContainEqual(
      expect.stringMatching(/mkdir -p \/app\/.hub-data && chown (node:node|1000:1000) \/app\/.hub-data/),
    );
    expect(user).toBe('1000:1000');
  });
});

describe('docker/elasticsearch/Dockerfile', () => {
  it('pins an Elasticsearch of the client major, at the client minor or newer', () => {
    const es = readRepoFile('docker/elasticsearch/Dockerfile');
    const version = es.match(/^ARG ES_VERSION=(\d+)\.(\d+)\.(\d+)$/m);
    expect(version).not.toBeNull();
    expect(es).toMatch(/elasticsearch-plugin install --batch analysis-smartcn analysis-icu/);
    const lock = JSON.parse(readRepoFile('package-lock.json')) as {
      packages: Record<string, { version: string }>;
    };
    const client = lock.packages['node_modules/@elastic/elasticsearch']?.version.split('.').map(Number) ?? [];
    expect(Number(version?.[1])).toBe(client[0]);
    expect(Number(version?.[2])).toBeGreaterThanOrEqual(client[1] as number);
  });
});
