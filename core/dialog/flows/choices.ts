import type { Bilingual, SlotDefinition, StepDefinition } from './schema';

/**
 * An answer the customer can tap instead of typing. `id` is what a connector's button sends back
 * (Telegram callback data, a Slack button value, a Teams `hubAction`, a WhatsApp reply id, the web
 * chat's action id); the title is shown in the conversation's language.
 */
export interface ReplyChoice {
  id: string;
  title: Bilingual;
}

/** A confirm step's two answers. Their titles are words the yes/no lexicon reads, so typing them works too. */
export const YES_NO_CHOICES: readonly ReplyChoice[] = [
  { id: 'yes', title: { zh: '是', en: 'Yes' } },
  { id: 'no', title: { zh: '否', en: 'No' } },
];

/** A tapped yes or no; anything else is not an answer to a confirm step. */
export function confirmAnswer(choice: string | undefined): 'yes' | 'no' | undefined {
  return choice === 'yes' || choice === 'no' ? choice : undefined;
}

export function confirmChoices(
  step: Extract<StepDefinition, { type: 'confirm' }>,
): ReplyChoice[] | undefined {
  return step.buttons ? [...YES_NO_CHOICES] : undefined;
}

/** A slot with a closed set of values offers them, titled by the configured label or its first word. */
export function slotChoices(slot: SlotDefinition): ReplyChoice[] | undefined {
  return slot.choices?.map((choice) => ({
    id: choice.value,
    title: choice.title ?? {
      zh: choice.words.zh[0] ?? choice.value,
      en: choice.words.en[0] ?? choice.value,
    },
  }));
}

/** The value of a slot's choice the customer tapped, if `choice` is one of them. */
export function tappedValue(slot: SlotDefinition, choice: string | undefined): string | undefined {
  return choice === undefined ? undefined : slot.choices?.find((c) => c.value === choice)?.value;
}
