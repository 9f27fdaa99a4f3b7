import { z } from 'zod';

export const restOptionsSchema = z.object({
  /**
   * `api-key` (default): every request needs `Authorization: Bearer <key>` (`hub keys create`).
   * `none`: for local development, requests from this machine (loopback) need no key; a key, when
   * sent, still counts. Requests from elsewhere always need a key.
   */
  auth: z.enum(['api-key', 'none']).default('api-key'),
});

export type RestOptions = z.infer<typeof restOptionsSchema>;

export const restOptionHints: Record<string, string> = {
  auth: 'use "api-key" (create keys with `hub keys create --tenant <t> --name <n>`) or "none" for local development',
};
