import type { NamedStage } from '../compose';
import { sayText } from '../turn-context';
import type { StageDeps } from './deps';

/** The customer answers the proof question of an order asked about before (a phone or e-mail typed). */
export const proofResumeStage = (deps: StageDeps): NamedStage => ({
  name: 'proofResume',
  run: async (turn, next) => {
    const { commands } = deps;
    if (turn.state.handoff !== 'bot' || !commands || !turn.pre) return next();
    const resumed = await commands.resumeProof({
      event: turn.event,
      text: turn.pre.text,
      language: turn.language,
      state: turn.state,
    });
    if (!resumed) return next();
    sayText(turn, resumed.text);
  },
});
