import type { Citation } from './outbound';

export interface KnowledgeChunk {
  id: string;
  docId: string;
  title: string;
  section?: string;
  text: string;
  /** "zh" or "en" (or another ISO 639-1 code). */
  language: string;
  source: string;
  tags: string[];
  tenant?: string;
  /** Link a channel can render as the citation (front matter `url`, an HTML page's canonical link). */
  url?: string;
  /** When the source document last changed (ISO 8601). */
  updatedAt?: string;
  /** Other ways customers ask the question `title` answers (an entry's `Also asked:` list); searched, never shown. */
  questions?: string[];
}

export interface Passage extends KnowledgeChunk {
  score: number;
}

export interface SearchOptions {
  k?: number;
  language?: string;
  tenant?: string;
  /** Only chunks carrying at least one of these tags. */
  tags?: string[];
}

export interface Retriever {
  index(chunks: KnowledgeChunk[]): Promise<void>;
  search(query: string, options?: SearchOptions): Promise<Passage[]>;
  count(): Promise<number>;
}

export function citationOf(passage: KnowledgeChunk): Citation {
  return {
    id: passage.id,
    title: passage.title,
    source: passage.source,
    ...(passage.url ? { url: passage.url } : {}),
  };
}
