import { Gauge } from 'prom-client';
import { registry } from '../../../metrics';
import type { HybridMode } from './cluster';

/** 1 for the way Elasticsearch hybrid queries are fused now, 0 for the other. */
export const hybridModeGauge = new Gauge({
  name: 'hub_rag_hybrid_mode',
  help: 'Elasticsearch hybrid search: 1 for the mode in use (rrf: the cluster fuses; msearch: BM25 and kNN in one _msearch, fused by the hub)',
  labelNames: ['mode'] as const,
  registers: [registry],
});

export function reportHybridMode(mode: HybridMode): void {
  hybridModeGauge.set({ mode: 'rrf' }, mode === 'rrf' ? 1 : 0);
  hybridModeGauge.set({ mode: 'msearch' }, mode === 'msearch' ? 1 : 0);
}
