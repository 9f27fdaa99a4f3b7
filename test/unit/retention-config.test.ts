import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../core/config/load';
import {
  retentionConfigured,
  retentionFor,
  retentionSectionSchema,
} from '../../core/config/retention-schema';
import { hubConfigSchema } from '../../core/config/schema';

describe('retention config', () => {
  it('keeps everything when no window is set, and the scheduled purge has nothing to do', () => {
    const config = hubConfigSchema.parse({}).retention;
    expect(config).toMatchObject({ schedule: true, purgeIntervalMinutes: 60, batchSize: 500, tenants: {} });
    expect(retentionFor(config, 'default')).toEqual({});
    expect(retentionConfigured(config)).toBe(false);
  });

  it('a tenant overrides the section key by key; a payload never outlives its message', () => {
    const config = retentionSectionSchema.parse({
      transcriptsDays: 90,
      payloadsDays: 30,
      tenants: { finance: { transcriptsDays: 20 }, archive: { payloadsDays: 60, transcriptsDays: 365 } },
    });
    expect(retentionFor(config, 'shop')).toEqual({ transcriptsDays: 90, payloadsDays: 30 });
    expect(retentionFor(config, 'finance')).toEqual({ transcriptsDays: 20, payloadsDays: 20 });
    expect(retentionFor(config, 'archive')).toEqual({ transcriptsDays: 365, payloadsDays: 60 });
    // Inherited names from Object.prototype are not tenants.
    expect(retentionFor(config, 'constructor')).toEqual({ transcriptsDays: 90, payloadsDays: 30 });
    expect(retentionConfigured(config)).toBe(true);
  });

  it('refuses a payload window longer than the transcript window, and unknown keys', () => {
    expect(() => retentionSectionSchema.parse({ transcriptsDays: 30, payloadsDays: 60 })).toThrow(
      /payloadsDays \(60\) is longer than transcriptsDays \(30\)/,
    );
    expect(() =>
      retentionSectionSchema.parse({ tenants: { t: { transcriptsDays: 7, payloadsDays: 8 } } }),
    ).toThrow(/payloadsDays/);
    expect(() => retentionSectionSchema.parse({ transcriptsDays: 0 })).toThrow();
    expect(() => parseConfig({ retention: { transcriptDays: 30 } }, {})).toThrow(/transcriptsDays/);
    expect(() => parseConfig({ retention: { tenants: { t: { payloadDays: 3 } } } }, {})).toThrow(
      /payloadsDays/,
    );
  });
});
