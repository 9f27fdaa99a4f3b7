import type { HubConfig } from '../config/schema';
import type {
  DialogProgress,
  DialogState,
  InboundEvent,
  LlmClient,
  OutboundMessage,
  Retriever,
} from '../types';
import { createAnswerAction } from './answer';
import type { DialogCommands } from './commands';
import { compose, type NamedStage } from './compose';
import type { Catalog } from './flows/messages';
import { POLICY_MESSAGES } from './messages';
import type { DialogKit } from './setup';
import { defaultStages, type StageDeps } from './stages';
import { SURVEY_MESSAGES } from './survey';
import { createTurnContext, type TurnContext, type TurnTrace } from './turn-context';

export { replyIdOf } from './stages';
export { HANDLED_IDS_KEPT, type TurnTrace } from './turn-context';

export interface EngineDeps {
  config: HubConfig;
  retriever: Retriever;
  /** Absent on the embedded default: answers are then extractive, intents and rewrites by rule. */
  llm?: LlmClient;
  /** Intents, flows, policy and actions (core/dialog/setup.ts). */
  dialog: DialogKit;
  /** The order look-up a customer finishes by typing the phone or e-mail asked for. */
  commands?: DialogCommands;
  now?: () => Date;
  /**
   * The turn's stages, from the defaults (core/dialog/stages): a deployment adds its own in this one
   * place, e.g. `(defaults) => insertBefore(defaults, 'answer', myStage)` (core/dialog/compose.ts).
   */
  stages?: (defaults: NamedStage[]) => NamedStage[];
}

/** Per-turn options of `respond`. */
export interface RespondOptions {
  /** The LLM answer so far, as it streams (answer generation only; not intents or rewrites). */
  onDraft?: (textSoFar: string) => void;
}

export interface TurnResult {
  replies: OutboundMessage[];
  state: DialogState;
  trace: TurnTrace;
}

export function emptyState(conversationKey: string): DialogState {
  return {
    conversationKey,
    slots: {},
    history: [],
    handoff: 'bot',
    handledEventIds: [],
    updatedAt: new Date(0).toISOString(),
  };
}

/**
 * Turns one inbound event and the conversation's state into replies and the next state, through
 * the stages of core/dialog/stages: helpdesk update → addressed? → idle return → stale flows →
 * preprocess → proof resume → cancel while waiting → small talk → rewrite → recognize → decide → handoff →
 * flow → answer, rendered by the outermost stage. Pure with respect to storage: the caller
 * persists, so a redelivered event can be answered once.
 */
export class DialogEngine {
  /** The stages in the order they run, by name (for logs and for tests). */
  readonly stageNames: readonly string[];
  private readonly run: (turn: TurnContext) => Promise<void>;
  private readonly now: () => Date;
  private readonly awaiting: (flow: DialogProgress['flow']) => TurnTrace['awaiting'];

  constructor(deps: EngineDeps) {
    this.now = deps.now ?? (() => new Date());
    this.awaiting = (flow) => deps.dialog.runtime.awaiting(flow);
    if (!deps.dialog.actions.has('answer')) {
      deps.dialog.actions.register(
        'answer',
        createAnswerAction({
          config: deps.config,
          retriever: deps.retriever,
          llm: deps.llm,
          context: deps.dialog.config.context,
        }),
      );
    }
    const catalog: Catalog = new Map([
      ...deps.dialog.flows.catalog,
      ...Object.entries(POLICY_MESSAGES),
      ...Object.entries(SURVEY_MESSAGES),
    ]);
    const stageDeps: StageDeps = {
      config: deps.config,
      dialog: deps.dialog,
      llm: deps.llm,
      commands: deps.commands,
      catalog,
    };
    const defaults = defaultStages(stageDeps);
    const stages = deps.stages ? deps.stages(defaults) : defaults;
    this.stageNames = stages.map((stage) => stage.name);
    this.run = compose(stages);
  }

  async respond(event: InboundEvent, state: DialogState, options: RespondOptions = {}): Promise<TurnResult> {
    const turn = createTurnContext(event, state, this.now(), options.onDraft);
    await this.run(turn);
    turn.trace.awaiting = this.awaiting(turn.progress.flow);
    return { replies: turn.outbound, state: turn.state, trace: turn.trace };
  }
}
