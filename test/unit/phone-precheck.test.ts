import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PiiDetector } from '../../core/privacy/detect';
import { DEFAULT_PII_CONFIG, piiRulesFor } from '../../core/privacy/schema';

// libphonenumber-js, counted: the candidate pre-check is proved by the parses it saves.
const calls = vi.hoisted(() => ({ count: 0 }));
vi.mock('libphonenumber-js', async (importOriginal) => {
  const original = await importOriginal<typeof import('libphonenumber-js')>();
  return {
    ...original,
    parsePhoneNumberFromString: (...args: Parameters<typeof original.parsePhoneNumberFromString>) => {
      calls.count++;
      return original.parsePhoneNumberFromString(...args);
    },
    findPhoneNumbersInText: (...args: Parameters<typeof original.findPhoneNumbersInText>) => {
      calls.count++;
      return original.findPhoneNumbersInText(...args);
    },
  };
});

const detector = new PiiDetector(piiRulesFor(DEFAULT_PII_CONFIG));

beforeEach(() => {
  calls.count = 0;
});

/** Only a span of seven or more digits with the separators people write reaches libphonenumber-js. */
describe('phone pre-check before libphonenumber-js', () => {
  it.each([
    'where is my order',
    '退款怎么弄',
    'it cost 25.90 and came in 3 days', // digits, but fewer than seven in a run
    'room 1204, floor 12, building 7',
    'write to alice@example.com',
  ])('does not call libphonenumber-js for %s', (text) => {
    expect(detector.find(text).filter((f) => f.type === 'PHONE')).toEqual([]);
    expect(calls.count).toBe(0);
  });

  it('calls it for a span that may be a phone number, and finds the number', () => {
    const found = detector.find('call me on +86 138 0013 8000 please');
    expect(calls.count).toBeGreaterThan(0);
    expect(found.map((f) => f.type)).toContain('PHONE');
  });
});
