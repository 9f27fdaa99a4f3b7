import {
  countHit,
  type Grounding,
  groundedByLlm,
  groundedByRules,
  SAFETY_MESSAGES,
  strongest,
} from '../../safety';
import type { Disclaimer } from '../../safety/lexicon';
import type { NamedStage } from '../compose';
import type { ActionOutcome } from '../flows/actions';
import type { Reply } from '../flows/messages';
import type { TurnContext } from '../turn-context';
import type { StageDeps } from './deps';

/**
 * Content safety on what the bot says (core/safety), wrapped around every later stage:
 *
 * - streamed drafts are checked as they grow; a draft with a sensitive word is not shown, the
 *   stream stops reaching the channel, and the answer becomes the fixed refusal;
 * - the answer action's text is checked before any stage uses it (`checkAnswer`, from runAction):
 *   the lexicon, then, for a generated answer, its groundedness in the passages it was given;
 * - once the turn's replies are known, the risk disclaimers of its topic are appended, once: a
 *   disclaimer already in a reply (a model that repeated it, an extract that quotes it) is taken out first.
 */
export const safetyOutputStage = (deps: StageDeps): NamedStage => ({
  name: 'safetyOutput',
  run: async (turn, next) => {
    const kit = deps.dialog.safety;
    if (!kit?.config.enabled || !kit.config.output.enabled) return next();
    const shown = turn.onDraft;
    if (shown) {
      const { matcher } = kit.forTenant(turn.event.ref.tenant);
      turn.onDraft = (soFar) => {
        if (turn.draftBlocked) return;
        const hits = matcher.scan(soFar).filter((hit) => hit.output !== 'flag');
        if (!hits.length) return shown(soFar);
        turn.draftBlocked = true;
        for (const hit of hits) record(turn, 'draft', hit.category, hit.output, hit.word);
      };
    }
    await next();
    appendDisclaimers(turn, deps);
  },
});

function record(
  turn: TurnContext,
  stage: 'output' | 'draft' | 'groundedness',
  category: string,
  action: string,
  word?: string,
) {
  countHit(category, stage);
  turn.trace.safety.push({ stage, category, action, ...(word ? { word } : {}) });
}

/**
 * The answer action's outcome as it may be sent: unchanged, or the fixed refusal (which offers a
 * person) when a draft was stopped, a sensitive word is in the text or a generated answer is not
 * grounded in its passages. The refusal is a successful outcome of source `system`.
 */
export async function checkAnswer(
  turn: TurnContext,
  deps: StageDeps,
  outcome: ActionOutcome,
): Promise<ActionOutcome> {
  const kit = deps.dialog.safety;
  const written = typeof outcome.data?.text === 'string' ? outcome.data.text : '';
  if (!outcome.ok || !kit?.config.enabled || !kit.config.output.enabled || !written) return outcome;
  const tenant = turn.event.ref.tenant;
  // A disclaimer the model or the passage already carries is the safety stage's to add, once.
  const text = withoutDisclaimers(written, kit.forTenant(tenant).disclaimers);
  const checked: ActionOutcome = text === written ? outcome : { ok: true, data: { ...outcome.data, text } };
  const refused = (): ActionOutcome => ({
    ok: true,
    data: {
      ...outcome.data,
      text: SAFETY_MESSAGES.unsafeAnswer[turn.language],
      source: 'system',
      citations: [],
    },
  });
  if (turn.draftBlocked) return refused();
  const hits = kit.forTenant(tenant).matcher.scan(text);
  for (const hit of hits) record(turn, 'output', hit.category, hit.output, hit.word);
  const action = strongest(hits, 'output');
  if (action && action !== 'flag') return refused();
  const passages = outcome.data?.passages;
  const { output } = kit.config;
  if (outcome.data?.source !== 'llm' || output.groundedness === 'off' || !Array.isArray(passages))
    return checked;
  const grounding = await judge(deps, output, text, passages.map(String), tenant);
  if (grounding.grounded) return checked;
  record(turn, 'groundedness', 'ungrounded', 'refuse', grounding.by);
  return refused();
}

async function judge(
  deps: StageDeps,
  output: { groundedness: string; minSentenceOverlap: number; maxUnsupportedShare: number },
  text: string,
  passages: string[],
  tenant: string,
): Promise<Grounding> {
  const byLlm = output.groundedness === 'llm' || (output.groundedness === 'auto' && deps.llm);
  const verdict = byLlm && deps.llm ? await groundedByLlm(deps.llm, text, passages, tenant) : undefined;
  return verdict ?? groundedByRules(text, passages, output);
}

/** The disclaimers of the turn's intent or topic, each once, after the replies. */
function appendDisclaimers(turn: TurnContext, deps: StageDeps): void {
  const kit = deps.dialog.safety;
  if (!kit || !turn.answers.length || turn.source === 'system') return;
  const tenant = kit.forTenant(turn.event.ref.tenant);
  if (!tenant.disclaimers.length) return;
  const intent = turn.trace.intent?.name;
  const about = new Set(
    tenant.topics.scan([turn.pre?.text ?? '', ...turn.answers].join('\n')).map((h) => h.category),
  );
  const due = tenant.disclaimers.filter(
    (d) => about.has(d.id) || (intent !== undefined && d.intents.includes(intent)),
  );
  if (!due.length) return;
  for (const reply of turn.replies) stripDisclaimers(reply, due);
  for (const disclaimer of due) {
    turn.replies.push({ key: 'policy.text', params: { text: disclaimer.text[turn.language] } });
    turn.trace.safety.push({ stage: 'disclaimer', category: disclaimer.id, action: 'append' });
  }
}

function stripDisclaimers(reply: Reply, disclaimers: readonly Disclaimer[]): void {
  const params = reply.params;
  if (!params) return;
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string') continue;
    const text = withoutDisclaimers(value, disclaimers);
    if (text !== value) params[name] = text;
  }
}

function withoutDisclaimers(text: string, disclaimers: readonly Disclaimer[]): string {
  let out = text;
  for (const d of disclaimers) for (const said of [d.text.zh, d.text.en]) out = out.split(said).join('');
  return out === text ? text : out.trim();
}
