/**
 * Entities found in a cleaned message. `value` is the canonical form a flow stores in a slot
 * (order id upper-cased, phone as 11 digits, amount as a number with an ISO currency, date as
 * YYYY-MM-DD); `text` and `start`/`end` locate what the customer wrote.
 */
export interface Entity {
  type: string;
  value: string;
  text: string;
  start: number;
  end: number;
  /** Extra structure: `{ amount, currency }` for amounts, `{ date, time? }` for dates. */
  detail?: Record<string, string | number>;
}
