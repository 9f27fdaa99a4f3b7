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
import { IntentRecognizer } from './intent/recognizer';

/** What the engine needs from the dialog configuration, built once per worker process. */
export interface DialogKit {
  config: DialogConfig;
  flows: FlowSet;
  runtime: FlowRuntime;
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
 * the intent classifier from the examples: a new intent and flow are YAML only, read at start-up.
 */
export async function loadDialogKit(hub: HubConfig, options: DialogKitOptions = {}): Promise<DialogKit> {
  const config = await loadDialogConfig(hub.dialog.file);
  const actions = options.actions ?? new ActionRegistry();
  if (options.commands) registerHubActions(actions, options.commands);
  const flows = await loadFlows(config.flowsDir, actions.allSpecs());
  return {
    config,
    flows,
    runtime: new FlowRuntime(flows),
    recognizer: IntentRecognizer.create(config.intents, {
      llm: hub.dialog.llmIntents ? options.llm : undefined,
      cache: DerivedCache.fromConfig(hub),
    }),
    actions,
    safety: await SafetyKit.load(hub.safety),
  };
}
