/** One flow in progress. Plain JSON: it is saved with the dialog state between turns. */
export interface FlowFrame {
  flow: string;
  step: string;
  slots: Record<string, string>;
  /** Saved action results (`saveAs`) and the message that started the flow (`text`). */
  vars: Record<string, unknown>;
  /** Failed attempts at the current step. */
  attempts: number;
  /** The step a yes unlocked: the only irreversible action allowed to run next. */
  confirmed?: string;
  pendingAction?: { id: string; step: string };
  /** Counts actions emitted, for unique request ids. */
  actionCount: number;
  startedAt: string;
  updatedAt: string;
}

/** The flow stack: the last frame is active, the ones below were suspended by a change of topic. */
export interface FlowState {
  stack: FlowFrame[];
}
