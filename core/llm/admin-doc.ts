import { z } from 'zod';
import { errorResponse, type RouteDoc } from '../http/route-doc';

const windowSchema = z.object({ requests: z.number(), errors: z.number(), fallbacks: z.number() }).loose();

/** `GET /admin/models` as core/llm/canary.ts `ModelsStatus` has it. */
const modelsStatusSchema = z.object({
  rollback: z.looseObject({}).describe('The rule: window, minimum requests, error and fallback thresholds'),
  models: z.array(
    z.object({
      model: z.string().describe("The stable entry's name in llm.models"),
      role: z.enum(['light', 'main']),
      versions: z.array(
        z.object({
          endpoint: z.string(),
          version: z.string(),
          served: z.string().describe('The model name sent to the server'),
          canary: z.boolean(),
          configuredShare: z.number(),
          effectiveShare: z.number().describe('0 while the canary is rolled back'),
          window: windowSchema.optional(),
        }),
      ),
      rollback: z.looseObject({}).optional().describe('When and why the canary was rolled back'),
    }),
  ),
});

export const modelsStatusDoc: RouteDoc = {
  summary: 'Models, their versions, the canary split, the rollback window and state',
  tags: ['admin'],
  admin: true,
  responses: { 200: { description: 'The release state every process shares', schema: modelsStatusSchema } },
};

export const modelResetDoc: RouteDoc = {
  summary: "Lift a model's canary rollback: the canary gets its configured share again",
  tags: ['admin'],
  admin: true,
  params: z.object({ model: z.string().describe('A name in llm.models that has a canary') }),
  body: { contentTypes: ['application/json'], schema: z.object({}), required: false },
  responses: {
    200: {
      description: 'Reset (or nothing to reset)',
      schema: z.object({ model: z.string(), reset: z.boolean() }),
    },
    404: errorResponse('admin.model_not_found: no model with a canary by that name; the message lists them'),
  },
};
