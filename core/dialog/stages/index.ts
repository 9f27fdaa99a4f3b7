import type { NamedStage } from '../compose';
import { addressedStage } from './addressed';
import { answerStage } from './answer';
import { cancelWhileWaitingStage } from './cancel-waiting';
import { decideStage } from './decide';
import type { StageDeps } from './deps';
import { flowStage } from './flow';
import { handoffStage } from './handoff';
import { helpdeskUpdateStage } from './helpdesk-update';
import { idleReturnStage } from './idle-return';
import { preprocessStage } from './preprocess';
import { proofResumeStage } from './proof-resume';
import { recognizeStage } from './recognize';
import { renderStage } from './render';
import { rewriteStage } from './rewrite';
import { safetyInputStage } from './safety-input';
import { safetyOutputStage } from './safety-output';
import { smallTalkStage } from './small-talk';
import { staleFlowsStage } from './stale-flows';
import { surveyStage } from './survey';

export type { StageDeps } from './deps';
export { replyIdOf } from './render';

/**
 * The dialog turn, in order. `render` is first because it wraps the rest: it renders whatever the
 * stage that ended the turn left. Each later stage either ends the turn (a helpdesk update, a
 * resumed proof, a flow that took the message) or passes it on.
 */
export function defaultStages(deps: StageDeps): NamedStage[] {
  return [
    renderStage(deps),
    safetyOutputStage(deps),
    surveyStage(deps),
    helpdeskUpdateStage,
    addressedStage,
    idleReturnStage(deps),
    staleFlowsStage(deps),
    preprocessStage(deps),
    safetyInputStage(deps),
    proofResumeStage(deps),
    cancelWhileWaitingStage(deps),
    smallTalkStage(deps),
    rewriteStage(deps),
    recognizeStage(deps),
    decideStage(deps),
    handoffStage(deps),
    flowStage(deps),
    answerStage(deps),
  ];
}
