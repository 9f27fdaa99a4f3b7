import type { KnowledgeChunk } from '../../../types';
import { SHARED_TENANT } from './mapping';

/** A chunk as the index template stores it (mapping.ts). */
export interface SourceDoc {
  id: string;
  doc_id: string;
  title: string;
  text: string;
  section?: string;
  source: string;
  url?: string;
  language: string;
  tenant: string;
  tags: string[];
  updated_at?: string;
  embedding?: number[];
}

export function sourceOf(chunk: KnowledgeChunk): SourceDoc {
  return {
    id: chunk.id,
    doc_id: chunk.docId,
    title: chunk.title,
    text: chunk.text,
    ...(chunk.section ? { section: chunk.section } : {}),
    source: chunk.source,
    ...(chunk.url ? { url: chunk.url } : {}),
    language: chunk.language,
    tenant: chunk.tenant ?? SHARED_TENANT,
    tags: chunk.tags,
    ...(chunk.updatedAt ? { updated_at: chunk.updatedAt } : {}),
  };
}

export function chunkOf(doc: SourceDoc): KnowledgeChunk {
  return {
    id: doc.id,
    docId: doc.doc_id,
    title: doc.title,
    ...(doc.section ? { section: doc.section } : {}),
    text: doc.text,
    language: doc.language,
    source: doc.source,
    tags: doc.tags ?? [],
    ...(doc.tenant && doc.tenant !== SHARED_TENANT ? { tenant: doc.tenant } : {}),
    ...(doc.url ? { url: doc.url } : {}),
    ...(doc.updated_at ? { updatedAt: doc.updated_at } : {}),
  };
}
