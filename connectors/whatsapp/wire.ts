/**
 * The parts of a WhatsApp Cloud API webhook the connector reads
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components). Everything may be
 * absent: Meta adds fields over time, and old captures lack some.
 */
export interface WaMedia {
  id: string;
  mime_type?: string;
  sha256?: string;
  caption?: string;
  filename?: string;
  voice?: boolean;
  animated?: boolean;
}

export interface WaContactCard {
  name?: { formatted_name?: string; first_name?: string; last_name?: string };
  phones?: Array<{ phone?: string; wa_id?: string; type?: string }>;
}

export interface WaMessage {
  from: string;
  id: string;
  timestamp?: string;
  type: string;
  context?: { from?: string; id?: string; forwarded?: boolean; frequently_forwarded?: boolean };
  text?: { body: string };
  image?: WaMedia;
  audio?: WaMedia;
  video?: WaMedia;
  document?: WaMedia;
  sticker?: WaMedia;
  location?: { latitude: number; longitude: number; name?: string; address?: string; url?: string };
  contacts?: WaContactCard[];
  interactive?: {
    type: string;
    button_reply?: { id: string; title?: string };
    list_reply?: { id: string; title?: string; description?: string };
  };
  /** A quick-reply button of a template message. */
  button?: { payload?: string; text?: string };
  reaction?: { message_id: string; emoji?: string };
  errors?: Array<{ code?: number; title?: string }>;
}

export interface WaStatus {
  id: string;
  status: string;
  timestamp?: string;
  recipient_id?: string;
  errors?: Array<{ code?: number; title?: string; message?: string }>;
}

export interface WaChangeValue {
  messaging_product?: string;
  metadata?: { display_phone_number?: string; phone_number_id?: string };
  contacts?: Array<{ wa_id?: string; profile?: { name?: string } }>;
  messages?: WaMessage[];
  statuses?: WaStatus[];
}

export interface WaWebhook {
  object?: string;
  entry?: Array<{ id?: string; changes?: Array<{ field?: string; value?: WaChangeValue }> }>;
}
