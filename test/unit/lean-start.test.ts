import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StartPhases } from '../../app/start-phases';
import { logger } from '../../core/log';
import { EMBEDDED_SHARED_BUFFERS, IN_MEMORY, openDatabase } from '../../core/store/connect';

afterEach(() => vi.restoreAllMocks());

describe('embedded database memory', () => {
  it.each([IN_MEMORY, 'on disk'])('runs PGlite (%s) with small shared buffers', async (where) => {
    const dir = where === IN_MEMORY ? undefined : await mkdtemp(path.join(tmpdir(), 'pglite-'));
    const db = await openDatabase({ driver: 'pglite', dataDir: dir ? path.join(dir, 'db') : IN_MEMORY });
    try {
      const { rows } = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(db);
      expect(rows[0]?.shared_buffers).toBe(EMBEDDED_SHARED_BUFFERS);
      // Still a working database.
      await sql`create table t (n int)`.execute(db);
      await sql`insert into t select generate_series(1, 1000)`.execute(db);
      const { rows: count } = await sql<{ n: number }>`select count(*)::int as n from t`.execute(db);
      expect(count[0]?.n).toBe(1000);
    } finally {
      await db.destroy();
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('start-up phases', () => {
  it('logs each phase as it begins and every duration when the hub is up', async () => {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
    vi.spyOn(logger, 'info').mockImplementation(((fields: Record<string, unknown>, message: string) => {
      lines.push({ fields, message });
    }) as never);
    const phases = new StartPhases();
    phases.begin('database', 'opening the database');
    await new Promise((resolve) => setTimeout(resolve, 20));
    phases.begin('knowledge', 'building the knowledge index');
    phases.finish({ url: 'http://127.0.0.1:3000' });
    expect(lines.map((line) => line.message.replace(/[\d.]+ s$/, 'N s'))).toEqual([
      'start-up: opening the database',
      'start-up: building the knowledge index',
      'hub started in N s',
    ]);
    const closing = lines[2]?.fields as { phasesMs: Record<string, number>; startMs: number; rssMb: number };
    expect(Object.keys(closing.phasesMs)).toEqual(['database', 'knowledge']);
    expect(closing.phasesMs.database).toBeGreaterThanOrEqual(15);
    expect(closing.startMs).toBeGreaterThanOrEqual(closing.phasesMs.database ?? 0);
    expect(closing.rssMb).toBeGreaterThan(0);
    expect(closing).toMatchObject({ url: 'http://127.0.0.1:3000', cpuMs: expect.any(Number) });
  });
});
