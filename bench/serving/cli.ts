import { Command } from 'commander';
import { formatReport, runServingBenchmark, runViaHub, type ServingOptions } from './serving';

/** `npm run bench:serving -- --url http://gpu:8000/v1 [...]`; `--json` prints the report as JSON. */
const program = new Command('bench:serving')
  .description('Serving benchmark: conversation-shaped load on an OpenAI-compatible endpoint')
  .requiredOption('--url <url>', 'OpenAI-compatible base URL, including /v1')
  .option('--model <model>', 'model name (default: the first one /v1/models lists)')
  .option('--concurrency <n>', 'closed loop: requests in flight', '8')
  .option('--rate <r>', 'open loop: Poisson arrivals per second (overrides --concurrency)')
  .option('--requests <n>', 'requests to send', '64')
  .option('--prompt-tokens <n>', 'prompt size in Qwen3 tokens', '3000')
  .option('--shared-prefix-tokens <n>', 'tokens of system prompt + passages shared by every request', '2000')
  .option('--max-tokens <n>', 'output tokens per request', '128')
  .option('--via-hub <url>', 'hub base URL: also send the questions through POST /webhooks/<channel>')
  .option('--rest-channel <id>', 'REST channel id on the hub', 'rest')
  .option('--timeout-ms <n>', 'per-request deadline', '120000')
  .option('--json', 'print the report as JSON')
  .action(async (o: Record<string, string | boolean | undefined>) => {
    const num = (v: unknown) => (v === undefined ? undefined : Number(v));
    const options: ServingOptions = {
      url: o.url as string,
      model: o.model as string | undefined,
      apiKey: process.env.LLM_API_KEY ?? process.env.OPENAI_API_KEY,
      concurrency: num(o.concurrency) as number,
      rate: num(o.rate),
      requests: num(o.requests) as number,
      promptTokens: num(o.promptTokens) as number,
      sharedPrefixTokens: num(o.sharedPrefixTokens) as number,
      maxTokens: num(o.maxTokens) as number,
      viaHub: o.viaHub as string | undefined,
      restChannel: o.restChannel as string,
      timeoutMs: num(o.timeoutMs),
    };
    const report = await runServingBenchmark(options);
    const hub = options.viaHub ? await runViaHub(options, report) : undefined;
    console.log(o.json ? JSON.stringify({ ...report, hub }, null, 2) : formatReport(report, hub));
    if (report.completed === 0 || hub?.completed === 0) process.exitCode = 1;
  });

program.parseAsync(process.argv).catch((error) => {
  console.error(error);
  process.exit(1);
});
