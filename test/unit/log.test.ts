import { describe, expect, it } from 'vitest';
import { serializeError } from '../../core/log';

describe('error logging', () => {
  it('keeps the type and stack frames of an error but not its text', () => {
    const error = new Error('customer ada@example.com wrote:\n13800138000');
    const logged = serializeError(error) as { type: string; stack: string };
    expect(logged.type).toBe('Error');
    expect(logged.stack).toMatch(/^Error: \[redacted\]\n\s+at /);
    expect(logged.stack).not.toContain('ada@example.com');
    expect(logged.stack).not.toContain('13800138000');
  });
});
