import { z } from 'zod';

/** Every built-in prompt and message exists in both languages the bot speaks. */
export const bilingualSchema = z.object({ zh: z.string().min(1), en: z.string().min(1) });
export type Bilingual = z.infer<typeof bilingualSchema>;

const id = z.string().regex(/^[a-z][a-z0-9_]*$/, 'use lower-case letters, digits and "_", e.g. "ask_order"');
/** A step id, or one of the two built-in exits. */
const target = z.string().min(1);
export const END = 'end';
export const CANCEL = 'cancel';

const regexSource = z.string().superRefine((source, ctx) => {
  try {
    new RegExp(source, 'u');
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(error as Error).message}` });
  }
});

/** A slot and the one validator that fills it: an entity type, a regex, a closed choice, or free text. */
export const slotSchema = z
  .object({
    name: id,
    /** Filled from an extracted entity of this type (order_id, phone, email, amount, date, or a configured one). */
    entity: z.string().optional(),
    /** Filled from the first match in the cleaned message (the `value` group if present). */
    pattern: regexSource.optional(),
    /** Filled when the message contains one of a choice's words. */
    choices: z
      .array(
        z.object({
          value: z.string().min(1),
          /** The button's label; default the choice's first word in the language, else its value. */
          title: bilingualSchema.optional(),
          words: z
            .object({ zh: z.array(z.string()).default([]), en: z.array(z.string()).default([]) })
            .prefault({}),
        }),
      )
      .optional(),
    /** Any message of at least `minLength` characters (a complaint's description). */
    freeText: z.boolean().default(false),
    minLength: z.number().int().min(1).default(4),
    prompt: bilingualSchema,
    /** Said before the prompt again when a message did not fill the slot. */
    invalid: bilingualSchema.optional(),
    /** Failed attempts before the flow gives up (and the policy hands off). */
    maxAttempts: z.number().int().min(1).default(3),
  })
  .superRefine((slot, ctx) => {
    const validators = [slot.entity, slot.pattern, slot.choices, slot.freeText || undefined].filter(
      (v) => v !== undefined,
    );
    if (validators.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `slot "${slot.name}" needs exactly one of entity, pattern, choices or freeText: true (found ${validators.length})`,
      });
    }
  });
export type SlotDefinition = z.infer<typeof slotSchema>;

const base = { id, next: target.optional() };

export const stepSchema = z.discriminatedUnion('type', [
  /** Ask for the first missing slot of `slots`, one at a time, until all are filled. */
  z.object({ ...base, type: z.literal('ask'), slots: z.array(id).min(1) }),
  /** Yes/no question; `yes` unlocks an irreversible action that follows. */
  z.object({
    ...base,
    type: z.literal('confirm'),
    message: bilingualSchema,
    yes: target,
    no: target.default(CANCEL),
    /** Offer yes and no as buttons where the channel has them (text elsewhere). */
    buttons: z.boolean().default(true),
    /**
     * The question asks whether the answer before it helped: yes and no are counted against the
     * model version that wrote it (`hub_llm_version_feedback_total`).
     */
    feedback: z.boolean().default(false),
  }),
  /** Run a named action; its data is stored as `saveAs` for templates and branches. */
  z.object({
    ...base,
    type: z.literal('action'),
    action: z.string().min(1),
    params: z.record(z.string(), z.string()).default({}),
    saveAs: id.optional(),
    onError: target.optional(),
  }),
  z.object({ ...base, type: z.literal('say'), message: bilingualSchema }),
  /** Go to `cases[value]` of a slot or saved field (`slots.kind`, `order.status`), else `default`. */
  z.object({
    ...base,
    type: z.literal('branch'),
    on: z.string().min(1),
    cases: z.record(z.string(), target),
    default: target,
  }),
  z.object({
    id,
    type: z.literal('end'),
    message: bilingualSchema.optional(),
    /** `handoff`: the conversation goes to a human when this flow ends here. */
    outcome: z.enum(['done', 'handoff']).default('done'),
  }),
]);
export type StepDefinition = z.infer<typeof stepSchema>;

export const flowSchema = z
  .object({
    name: id,
    title: bilingualSchema,
    /** Intents that start this flow. */
    trigger: z.object({ intents: z.array(z.string().min(1)).min(1) }),
    /** A flow idle this long is dropped (the customer is told) at the next message. */
    timeoutMinutes: z.number().positive().default(30),
    slots: z.array(slotSchema).default([]),
    steps: z.array(stepSchema).min(1),
  })
  .superRefine((flow, ctx) => {
    const stepIds = new Set<string>();
    flow.steps.forEach((step, i) => {
      if (stepIds.has(step.id))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i, 'id'],
          message: `step id "${step.id}" is used twice`,
        });
      stepIds.add(step.id);
    });
    const slotNames = new Set(flow.slots.map((s) => s.name));
    const check = (value: string | undefined, path: (string | number)[], exits: string[]) => {
      if (value !== undefined && !stepIds.has(value) && !exits.includes(value)) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `"${value}" is not a step of flow ${flow.name} (steps: ${[...stepIds].join(', ')}; or ${exits.join(', ')})`,
        });
      }
    };
    flow.steps.forEach((step, i) => {
      const path = ['steps', i];
      if (step.type !== 'end') check(step.next, [...path, 'next'], [END, CANCEL]);
      if (step.type === 'ask') {
        step.slots.forEach((slot, j) => {
          if (!slotNames.has(slot))
            ctx.addIssue({
              code: 'custom',
              path: [...path, 'slots', j],
              message: `slot "${slot}" is not declared under slots`,
            });
        });
      }
      if (step.type === 'confirm') {
        check(step.yes, [...path, 'yes'], [END, CANCEL]);
        check(step.no, [...path, 'no'], [END, CANCEL]);
      }
      if (step.type === 'action') check(step.onError, [...path, 'onError'], [END, CANCEL]);
      if (step.type === 'branch') {
        check(step.default, [...path, 'default'], [END, CANCEL]);
        for (const [value, to] of Object.entries(step.cases))
          check(to, [...path, 'cases', value], [END, CANCEL]);
      }
    });
  });
export type FlowDefinition = z.infer<typeof flowSchema>;
