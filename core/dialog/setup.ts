import { DerivedCache } from '../cache/derived';
import type { HubConfig } from '../config/schema';
import { SafetyKit } from '../safety';
import type { LlmClient } from '../types';
import type { DialogCommands } from './commands';
import { type DialogConfig, loadDialogConfig } from './config';
import { ActionRegistry } from './flows/actions';
import { type FlowSet, loadFlows } from './flows/load';
import { FlowRuntime } from './flows/runtime';
import { registerHubActions } from './hub-actions';
import type { IntentConfig } from './intent/config';
import { loadLearnedExamples, withLearnedExamples } from './intent/learned';
import { IntentRecognizer } from './intent/recognizer';

/** What the engine needs from the dialog configuration, built once per worker process. */
export interface DialogKit {
  /** Its `intents` carry the learned examples too. */
  config: DialogConfig;
  flows: FlowSet;
  runtime: FlowRuntime;
  /** Replaced whole by {@link reloadIntents}; each turn reads it anew. */
  recognizer: IntentRecognizer;
  /** Actions flows may run; the engine adds `answer` when none is registered. */
  actions: ActionRegistry;
  /** Sensitive-word lexicons, injection screen, output checks and disclaimers (core/safety); absent: none. */
  safety?: SafetyKit;
}

export interface DialogKitOptions {
  /** For the LLM tier of intent recognition (used only when `dialog.llmIntents`). */
  llm?: LlmClient;
  /** The adapters behind `erp.lookupOrder`, `ticket.create` and `handoff`. */
  commands?: DialogCommands;
  /** Instead of the adapters: tests register fixture actions. */
  actions?: ActionRegistry;
}

/**
 * Loads the dialog file (`dialog.file`: intents, entity patterns, policy) and its flows, and trains
 * the intent classifier from the examples, the learned ones (`dialog.examplesFile`) included: a new
 * intent and flow are YAML only, read at start-up.
 */
export async function loadDialogKit(hub: HubConfig, options: DialogKitOptions = {}): Promise<DialogKit> {
  const config = await loadDialogConfig(hub.dialog.file);
  const actions = options.actions ?? new ActionRegistry();
  if (options.commands) registerHubActions(actions, options.commands);
  const flows = await loadFlows(config.flowsDir, actions.allSpecs());
  const intents = withLearnedExamples(config.intents, await loadLearnedExamples(hub.dialog.examplesFile));
  return {
    config: { ...config, intents },
    flows,
    runtime: new FlowRuntime(flows),
    recognizer: recognizerOf(hub, intents, options.llm),
    actions,
    safety: await SafetyKit.load(hub.safety),
  };
}

/** The intents as the classifier trains on them: the dialog file's, with the learned examples added. */
export async function loadIntentConfig(hub: {
  dialog: Pick<HubConfig['dialog'], 'file' | 'examplesFile'>;
}): Promise<IntentConfig> {
  const config = await loadDialogConfig(hub.dialog.file);
  return withLearnedExamples(config.intents, await loadLearnedExamples(hub.dialog.examplesFile));
}

function recognizerOf(hub: HubConfig, intents: IntentConfig, llm: LlmClient | undefined): IntentRecognizer {
  return IntentRecognizer.create(intents, {
    llm: hub.dialog.llmIntents ? llm : undefined,
    cache: DerivedCache.fromConfig(hub),
  });
}

/**
 * Reads the intents again (dialog file and learned examples) and retrains the classifier; the
 * next turn uses the new recognizer, a turn under way finishes with the old one. Flows and the
 * rest of the kit stay as loaded. Answers how many examples the classifier now trains on.
 */
export async function reloadIntents(kit: DialogKit, hub: HubConfig, llm?: LlmClient): Promise<number> {
  const intents = await loadIntentConfig(hub);
  kit.recognizer = recognizerOf(hub, intents, llm);
  kit.config = { ...kit.config, intents };
  return intents.intents.reduce((n, i) => n + i.examples.length, 0);
}
