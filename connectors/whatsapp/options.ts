import { z } from 'zod';
import { DEFAULT_MAX_FILE_BYTES } from '../shared/download';

export const whatsappOptionsSchema = z.object({
  id: z.string(),
  tenant: z.string().default('default'),
  /** The business phone number's id in the Cloud API (not the phone number itself). */
  phoneNumberId: z
    .string({ error: 'is missing' })
    .regex(/^\d{5,}$/, 'is not a phone number id (digits, from WhatsApp Manager → API setup)'),
  accessToken: z
    .string({ error: 'is missing' })
    .min(20, 'is too short to be a Graph API access token')
    .regex(/^\S+$/, 'must not contain spaces'),
  appSecret: z
    .string({ error: 'is missing' })
    .regex(/^[A-Za-z0-9_]{16,}$/, 'is not an app secret (App Dashboard → App settings → Basic)'),
  verifyToken: z.string({ error: 'is missing' }).min(8, 'must be at least 8 characters'),
  /** Graph API base URL; a local emulator in tests. */
  graphApiUrl: z
    .url({ error: 'must be a URL such as https://graph.facebook.com' })
    .default('https://graph.facebook.com'),
  apiVersion: z
    .string()
    .regex(/^v\d+\.\d+$/, 'must look like "v23.0"')
    .default('v23.0'),
  /**
   * Sent instead of free text when the customer last wrote more than 24 hours ago (WhatsApp allows
   * only approved templates then). Without it such replies are not sent, and logged.
   */
  template: z
    .object({
      name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'must be the template name as approved (a-z, 0-9, _)'),
      language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'must be a language code such as en_US'),
    })
    .optional(),
  /** Cap for GET /admin/channels/<id>/files/<fileId> (Cloud API media go up to 100 MB for documents). */
  maxFileBytes: z.coerce.number().int().positive().default(DEFAULT_MAX_FILE_BYTES),
});

export type WhatsAppOptions = z.infer<typeof whatsappOptionsSchema>;

export const whatsappHints: Record<string, string> = {
  phoneNumberId: 'copy the "Phone number ID" from WhatsApp Manager → API setup',
  accessToken:
    'set accessToken: ${WA_TOKEN} and export a system-user access token with whatsapp_business_messaging',
  appSecret: 'set appSecret: ${WA_APP_SECRET} and export the App Secret (App settings → Basic)',
  verifyToken:
    'set verifyToken: ${WA_VERIFY_TOKEN} and export the string you enter as "Verify token" in the webhook settings',
  graphApiUrl: 'leave it out for the real Graph API',
  template: 'give { name, language } of an approved message template',
};
