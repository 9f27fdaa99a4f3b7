/**
 * A small intent set for the intent review tests (the route test and the console's browser test):
 * three intents of six examples each, and a sentence the classifier trained on them gets wrong.
 */
export const REVIEW_INTENTS: Record<string, string[]> = {
  order_status: [
    'where is my order',
    'has my parcel shipped yet',
    'when will my package arrive',
    'track my delivery please',
    'my order has not come yet',
    'is my shipment on the way',
  ],
  refund: [
    'i want a refund',
    'give me my money back',
    'how do i get reimbursed',
    'refund my payment please',
    'can i get a refund for this',
    'return the money to my card',
  ],
  opening_hours: [
    'when are you open',
    'what are your opening hours',
    'are you open on sunday',
    'what time do you close',
    'opening times of the shop',
    'is the store open today',
  ],
};

/** Trained on REVIEW_INTENTS alone, the classifier takes this for order_status (about 0.56); it means refund. */
export const MISCLASSIFIED = 'the parcel never came so i want my cash';
