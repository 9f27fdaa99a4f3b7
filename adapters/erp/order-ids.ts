import { z } from 'zod';

/**
 * Customers quote the hub's order ids (two capital letters and eight digits). ERPs number orders
 * their own way ("#1001" in Shopify, "S00042" in Odoo, "12345" in SAP). With `hubPrefix` set, the
 * hub id is that prefix plus the order's number in eight digits, and the ERP's id is `systemPrefix`
 * plus the same number (leading zeros dropped, then padded to `systemDigits`). Without it, the
 * ERP's field holds the hub id as is.
 */
export interface OrderIdFormat {
  hubPrefix?: string;
  systemPrefix: string;
  systemDigits: number;
}

/** The ERP's id for a hub id, or undefined when the hub id cannot name an order of this ERP. */
export function toSystemOrderId(hubId: string, format: OrderIdFormat): string | undefined {
  const id = hubId.trim().toUpperCase();
  if (!format.hubPrefix) return id || undefined;
  if (!id.startsWith(format.hubPrefix)) return undefined;
  const digits = id.slice(format.hubPrefix.length);
  if (!/^\d+$/.test(digits)) return undefined;
  const number = digits.replace(/^0+(?=\d)/, '');
  return `${format.systemPrefix}${number.padStart(format.systemDigits, '0')}`;
}

/** The hub id for an ERP id; the ERP id itself when it does not follow the configured format. */
export function toHubOrderId(systemId: string, format: OrderIdFormat): string {
  if (!format.hubPrefix || !systemId.startsWith(format.systemPrefix)) return systemId;
  const digits = systemId.slice(format.systemPrefix.length);
  if (!/^\d+$/.test(digits)) return systemId;
  const width = Math.max(0, 10 - format.hubPrefix.length);
  return `${format.hubPrefix}${digits.replace(/^0+(?=\d)/, '').padStart(width, '0')}`;
}

/** The `orderId` block of an ERP's options: which field holds the id customers quote, and its format. */
export const orderIdSchema = <F extends [string, ...string[]]>(fields: F, defaultField: F[number]) =>
  z
    .object({
      /** The ERP field that holds the customer-quoted id (or its number). */
      field: z.enum(fields).default(defaultField),
      /** Two capital letters: the hub id is this plus the ERP's order number in eight digits. */
      hubPrefix: z
        .string()
        .regex(/^[A-Z]{2}$/, 'hubPrefix is two capital letters, e.g. SO')
        .optional(),
      /** Written before the number in the ERP ("#" for Shopify names, "S" for Odoo's S00042). */
      systemPrefix: z.string().default(''),
      /** The ERP pads its number to this many digits (Odoo: 5). */
      systemDigits: z.coerce.number().int().min(0).max(10).default(0),
    })
    .prefault({});
