import { spanEvent } from '../telemetry/trace';
import { HubError } from '../types';
import type { TurnContext } from './turn-context';

/**
 * A step of the dialog turn (telegraf's middleware, Koa's): it does its part and calls `next` to
 * let the later stages run, or returns without calling it to end the turn there. Code after
 * `await next()` runs once the later stages are done (the render stage works that way).
 */
export type Stage = (turn: TurnContext, next: () => Promise<void>) => Promise<void>;

/** A stage with the name other code inserts around (`insertBefore(stages, 'answer', …)`). */
export interface NamedStage {
  name: string;
  run: Stage;
}

/** The stages as one function, each stage's `next` running the rest. */
export function compose(stages: readonly NamedStage[]): (turn: TurnContext) => Promise<void> {
  return (turn) => {
    let reached = -1;
    const dispatch = async (index: number): Promise<void> => {
      if (index <= reached) {
        throw new HubError('dialog.next_twice', `stage "${stages[index - 1]?.name}" called next() twice`);
      }
      reached = index;
      const stage = stages[index];
      if (!stage) return;
      // The stages a turn went through, as events on its dialog.turn span.
      spanEvent('dialog.stage', { 'hub.dialog.stage': stage.name });
      await stage.run(turn, () => dispatch(index + 1));
    };
    return dispatch(0);
  };
}

/** `stages` with `added` placed right before the stage called `name`. */
export function insertBefore(
  stages: readonly NamedStage[],
  name: string,
  ...added: NamedStage[]
): NamedStage[] {
  const index = indexOf(stages, name);
  return [...stages.slice(0, index), ...added, ...stages.slice(index)];
}

/** `stages` with `added` placed right after the stage called `name`. */
export function insertAfter(
  stages: readonly NamedStage[],
  name: string,
  ...added: NamedStage[]
): NamedStage[] {
  const index = indexOf(stages, name) + 1;
  return [...stages.slice(0, index), ...added, ...stages.slice(index)];
}

function indexOf(stages: readonly NamedStage[], name: string): number {
  const index = stages.findIndex((stage) => stage.name === name);
  if (index < 0) {
    throw new HubError(
      'dialog.unknown_stage',
      `No dialog stage is called "${name}"; the stages are: ${stages.map((s) => s.name).join(', ')}`,
    );
  }
  return index;
}
