import { z } from 'zod';
import { errorResponse, type RouteDoc } from '../http/route-doc';

export const apiKeyCreateSchema = z.object({
  tenant: z.string().describe('The tenant the key speaks for: REST senders are customers of this tenant'),
  name: z.string().describe('Who uses the key, e.g. "shop backend"'),
});

const apiKeyInfoSchema = z.object({
  id: z.string().describe('The public part of the key (hub_<id>_…)'),
  tenant: z.string(),
  name: z.string(),
  createdAt: z.string(),
  revokedAt: z.string().optional(),
});

export const apiKeyCreateDoc: RouteDoc = {
  summary: 'Create an API key for the REST channel; the key is in this answer only',
  tags: ['admin'],
  admin: true,
  body: { contentTypes: ['application/json'], schema: apiKeyCreateSchema, required: true },
  responses: {
    201: {
      description: 'The key; the hub keeps only its SHA-256',
      schema: apiKeyInfoSchema.extend({ key: z.string().describe('hub_<id>_<secret>: store it now') }),
    },
    400: errorResponse('api_keys.invalid: a tenant or name that is missing or malformed'),
  },
};

export const apiKeyListDoc: RouteDoc = {
  summary: 'List the API keys, revoked ones too, never their secrets',
  tags: ['admin'],
  admin: true,
  responses: { 200: { description: 'Newest first', schema: z.array(apiKeyInfoSchema) } },
};

export const apiKeyRevokeDoc: RouteDoc = {
  summary: 'Revoke an API key: every request with it is refused from now on',
  tags: ['admin'],
  admin: true,
  params: z.object({ id: z.string().describe('The key id from the list') }),
  responses: {
    200: { description: 'Revoked', schema: z.object({ id: z.string(), revoked: z.literal(true) }) },
    404: errorResponse('api_keys.not_found: no key with this id that is not already revoked'),
  },
};
