import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { pluginConfigIssues } from '../../app/plugins';
import { validateChannelOptions } from '../../connectors/validate';
import { parseConfig } from '../../core/config/load';
import { closestKey } from '../../core/config/unknown-keys';
import { parseDialogConfig } from '../../core/dialog/config';
import { buildFlowSet } from '../../core/dialog/flows/load';
import { HubError } from '../../core/types';

const ROOT = join(import.meta.dirname, '..', '..');
const TAIL = 'Fix the keys above; config/hub.yaml shows every key with a comment.';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof HubError) return error.message;
    throw error;
  }
  throw new Error('expected a HubError');
}

function writeConfig(config: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'hub-strict-')), 'hub.yaml');
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

/** Runs bin/hub.mjs to its end; `cwd` defaults to the repository. */
function hub(args: string[], cwd = ROOT): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'hub.mjs'), ...args], {
      cwd,
      env: { ...process.env, NODE_ENV: 'test', HUB_CONFIG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const telegramBlock = {
  id: 'tg',
  type: 'telegram',
  botToken: '123456:FAKE_token_abcdefghij',
  secretToken: 'FAKE_secret',
};

describe('unknown keys in the hub config', () => {
  it('a typo at the top level and in bus fails with the closest key', () => {
    const message = messageOf(() => parseConfig({ sever: { port: 3000 }, bus: { drvier: 'bullmq' } }, {}));
    expect(message).toContain('  - sever: unknown key. Did you mean `server`?');
    expect(message).toContain('  - bus.drvier: unknown key. Did you mean `driver`?');
    expect(message.endsWith(TAIL)).toBe(true);
  });

  it('a key with nothing close gets no suggestion but the keys valid there', () => {
    const message = messageOf(() => parseConfig({ bus: { colour: 'red' } }, {}));
    expect(message).toMatch(/bus\.colour: unknown key \(valid here: driver, queue, /);
    expect(message).not.toContain('Did you mean');
  });

  it('names unknown keys in arrays and records, beside the schema errors, all at once', () => {
    const message = messageOf(() =>
      parseConfig(
        {
          bus: { driver: 'kafka' },
          llm: {
            models: [{ name: 'main', model: 'm', role: 'main', baseURL: 'http://x' }],
            routing: { tenants: { acme: { lroa: 'acme' } } },
          },
          database: { dataDri: 'x' },
        },
        {},
      ),
    );
    expect(message).toMatch(/bus\.driver: .*"memory"\|"bullmq"/);
    expect(message).toContain('llm.models.0.baseURL: unknown key. Did you mean `baseUrl`?');
    expect(message).toContain('llm.routing.tenants.acme.lroa: unknown key. Did you mean `lora`?');
    expect(message).toContain('database.dataDri: unknown key. Did you mean `dataDir`?');
  });

  it('keeps defaults, prefaults and ${ENV} values; a known key spelled right passes', () => {
    const config = parseConfig(
      { bus: { driver: '${BUS:-bullmq}' }, knowledge: { embeddings: { baseUrl: 'http://e' } } },
      {},
    );
    expect(config.bus).toMatchObject({ driver: 'bullmq', queue: 'hub-inbound' });
    expect(config.knowledge.embeddings?.model).toBe('BAAI/bge-m3');
  });

  it('checks the plug-in sections: the section keys, the chosen block, discriminated auth', () => {
    const config = parseConfig(
      {
        erp: {
          driver: 'odoo',
          maxVerificationAtempts: 3,
          odoo: { basUrl: 'https://odoo.example.com', db: 'd', login: 'l', apiKey: 'k' },
          shopify: { shopUrl: 'kept for later: a registered plug-in name is a valid key' },
        },
        ticketing: {
          driver: 'zendesk',
          zendesk: { baseUrl: 'https://z.example.com', email: 'a@b.c', apiTokn: 't' },
          webhooks: { zendeskSecrt: 'x' },
        },
        knowledge: { retriver: 'elasticsearch' },
      },
      {},
    );
    const lines = pluginConfigIssues(config).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(lines).toEqual(
      expect.arrayContaining([
        'erp.maxVerificationAtempts: unknown key. Did you mean `maxVerificationAttempts`?',
        'erp.odoo.basUrl: unknown key. Did you mean `baseUrl`?',
        'ticketing.zendesk.apiTokn: unknown key. Did you mean `apiToken`?',
        'ticketing.webhooks.zendeskSecrt: unknown key. Did you mean `zendeskSecret`?',
        'knowledge.retriver: unknown key. Did you mean `retriever`?',
      ]),
    );
    expect(lines.join('\n')).not.toContain('shopify');

    const rest = parseConfig(
      {
        erp: {
          driver: 'rest',
          rest: {
            baseUrl: 'https://erp.example.com',
            getOrder: { path: '/orders/{orderId}' },
            auth: { type: 'bearer', token: 't', tokn: 'x' },
          },
        },
      },
      {},
    );
    expect(pluginConfigIssues(rest).map((issue) => issue.path.join('.'))).toEqual(['erp.rest.auth.tokn']);
    const oauth = parseConfig(
      {
        erp: {
          driver: 'rest',
          rest: {
            baseUrl: 'https://erp.example.com',
            getOrder: { path: '/orders/{orderId}' },
            auth: { type: 'oauth2', tokenUrl: 'https://erp.example.com/t', clientId: 'c', clientSecret: 's' },
          },
        },
      },
      {},
    );
    expect(pluginConfigIssues(oauth)).toEqual([]);
  });

  it('checks each channel block over the common keys and its own, for types with and without options', () => {
    const config = parseConfig(
      {
        channels: [
          { ...telegramBlock, botTokn: 'x' },
          { id: 'rest', type: 'rest', tenat: 'acme' },
          { ...telegramBlock, id: 'tg-ok', tenant: 'acme', enabled: true, mode: 'webhook' },
        ],
      },
      {},
    );
    const message = messageOf(() => validateChannelOptions(config));
    expect(message).toMatch(
      /channel "tg" \(telegram\) is not configured correctly:\n {2}- botTokn: unknown key\. Did you mean `botToken`\?/,
    );
    expect(message).toMatch(
      /channel "rest" \(rest\) is not configured correctly:\n {2}- tenat: unknown key\. Did you mean `tenant`\?/,
    );
    expect(message).not.toContain('tg-ok');
  });
});

describe('unknown keys in the dialog file and the flow files', () => {
  it('the dialog file', () => {
    const message = messageOf(() =>
      parseDialogConfig({ policy: { maxFailure: 2 }, intents: { threshold: {} } }, 'config/dialog.yaml'),
    );
    expect(message).toContain('policy.maxFailure: unknown key. Did you mean `maxFailures`?');
    expect(message).toContain('intents.threshold: unknown key. Did you mean `thresholds`?');
  });

  it('a flow file, inside a step of a discriminated union', () => {
    const flow = {
      name: 'ticket',
      title: { zh: '工单', en: 'ticket' },
      trigger: { intents: ['open_ticket'] },
      steps: [
        { id: 'hello', type: 'say', message: { zh: '你好', en: 'Hello' }, nxt: 'done' },
        { id: 'done', type: 'end', outcome: 'done' },
      ],
    };
    const message = messageOf(() => buildFlowSet([{ source: 'config/flows/ticket.yaml', data: flow }]));
    expect(message).toContain('config/flows/ticket.yaml: steps.0.nxt: unknown key. Did you mean `next`?');
    expect(() =>
      buildFlowSet([{ source: 'ok.yaml', data: { ...flow, steps: flow.steps.slice(1) } }]),
    ).not.toThrow();
  });
});

describe('closest key', () => {
  it('counts a swap of two letters once, ignores case, and stays quiet when nothing is close', () => {
    expect(closestKey('drvier', ['driver', 'queue'])).toBe('driver');
    expect(closestKey('BaseURL', ['baseUrl', 'apiKey'])).toBe('baseUrl');
    expect(closestKey('colour', ['driver', 'queue', 'concurrency'])).toBeUndefined();
    expect(closestKey('xy', ['id'])).toBeUndefined();
  });
});

describe('the hub command with unknown keys', () => {
  it('`hub validate` exits 1 naming every unknown key of the file with its suggestion, and no stack', async () => {
    const file = writeConfig(
      'sever:\n  port: 3000\nbus: {drvier: bullmq}\nerp:\n  driver: odoo\n  odoo: {basUrl: "https://o.example.com", db: d, login: l, apiKey: k}\n',
    );
    const result = await hub(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('- sever: unknown key. Did you mean `server`?');
    expect(result.stderr).toContain('- bus.drvier: unknown key. Did you mean `driver`?');
    expect(result.stderr).toContain('- erp.odoo.basUrl: unknown key. Did you mean `baseUrl`?');
    expect(result.stderr).toContain(TAIL);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('is valid');
  }, 60_000);

  it('`hub validate` reads the dialog file the config names, and names its unknown keys', async () => {
    const dialog = writeConfig({ flowsDir: join(ROOT, 'config', 'flows'), policy: { maxFailure: 2 } });
    const result = await hub(['validate', writeConfig({ dialog: { file: dialog } })]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`hub: ${dialog} is not a valid dialog config:`);
    expect(result.stderr).toContain('- policy.maxFailure: unknown key. Did you mean `maxFailures`?');
    const good = await hub(['validate', join(ROOT, 'config', 'hub.yaml')]);
    expect(good.stdout).toContain('dialog: config/dialog.yaml, 5 flows in config/flows');
  }, 60_000);

  it('`hub start` refuses the same file before starting anything', async () => {
    const result = await hub(['start', '--config', writeConfig({ bus: { drvier: 'bullmq' } })]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('- bus.drvier: unknown key. Did you mean `driver`?');
    expect(result.stdout).not.toContain('listening');
  }, 60_000);
});

describe('commands whose default data is missing say what to pass', () => {
  const elsewhere = () => mkdtempSync(join(tmpdir(), 'hub-plain-clone-'));
  const oneLine = (stderr: string) => stderr.trim().split('\n');

  it('`hub intents eval` without the BANKING77 data beside the repository', async () => {
    const result = await hub(['intents', 'eval'], elsewhere());
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toEqual([
      expect.stringMatching(
        /^hub: .*banking77\/train\.csv does not exist \(the default intent data: BANKING77 .*\)\. Fix: pass --data <file>/,
      ),
    ]);
  }, 60_000);

  it('`hub kb` commands without their folders and files', async () => {
    const cwd = elsewhere();
    const search = await hub(['kb', 'search', 'refund'], cwd);
    expect(search.code).toBe(1);
    expect(oneLine(search.stderr)).toEqual([
      expect.stringMatching(
        /^hub: knowledge does not exist \(the knowledge folder, knowledge\.dir\)\. Fix: .*--config <file>/,
      ),
    ]);
    const evaluate = await hub(['kb', 'eval', 'labelled.jsonl'], cwd);
    expect(evaluate.code).toBe(1);
    expect(oneLine(evaluate.stderr)).toEqual([
      expect.stringMatching(
        /^hub: labelled\.jsonl does not exist \(the labelled queries\)\. Fix: pass a JSONL file/,
      ),
    ]);
    const ingest = await hub(['kb', 'ingest', 'docs'], cwd);
    expect(ingest.code).toBe(1);
    expect(oneLine(ingest.stderr)).toEqual([
      expect.stringMatching(
        /^hub: docs does not exist \(a file or folder to ingest\)\. Fix: pass files or folders that exist/,
      ),
    ]);
  }, 120_000);

  it('`hub training export` into a folder that does not exist', async () => {
    const result = await hub(['training', 'export', '--out', 'missing/set.jsonl'], elsewhere());
    expect(result.code).toBe(1);
    expect(oneLine(result.stderr)).toEqual([
      expect.stringMatching(
        /^hub: cannot write missing\/set\.jsonl: folder .* does not exist\. Fix: pass --out <file>/,
      ),
    ]);
  }, 60_000);
});
