import { describe, expect, it } from 'vitest';
import { type ImportGraph, importCircles, importGraph, layerViolations } from '../support/import-graph';

// ARCHITECTURE.md: core/types imports nothing; core imports only core; connectors and adapters import
// core; only app imports everything. No import circles.
describe('import rules', () => {
  const graph = importGraph(process.cwd());

  it('reads the whole tree', () => {
    expect(graph.size).toBeGreaterThan(200);
    expect(graph.get('app/hub.ts')).toContain('core/bus/index.ts');
  });

  it('no layer imports one above it', () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it('has no import circles', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('catches a core file importing a connector, an adapter or the app, and a circle', () => {
    const bad: ImportGraph = new Map([
      ['core/bus/a.ts', ['connectors/telegram/b.ts', 'core/bus/c.ts']],
      ['core/bus/c.ts', ['core/bus/a.ts', 'adapters/erp/d.ts', 'app/hub.ts']],
      ['core/types/e.ts', ['core/log.ts']],
      ['connectors/telegram/b.ts', ['adapters/erp/d.ts']],
      ['adapters/erp/d.ts', ['core/types/e.ts']],
      ['app/hub.ts', ['connectors/telegram/b.ts']],
    ]);
    expect(layerViolations(bad)).toEqual([
      'core/bus/a.ts -> connectors/telegram/b.ts',
      'core/bus/c.ts -> adapters/erp/d.ts',
      'core/bus/c.ts -> app/hub.ts',
      'core/types/e.ts -> core/log.ts',
      'connectors/telegram/b.ts -> adapters/erp/d.ts',
    ]);
    expect(importCircles(bad)).toEqual([['core/bus/a.ts', 'core/bus/c.ts']]);
  });
});
