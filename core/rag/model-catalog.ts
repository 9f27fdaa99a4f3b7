import type { OnnxEmbedderConfig } from './onnx-embedder';

/** One file of a known model and the SHA-256 its download must have. */
export interface KnownModelFile {
  /** Path inside the repository (and inside the model folder). */
  path: string;
  /** Lower-case hex SHA-256 at `revision`; unset: not pinned yet, so `--checksums` must give it. */
  sha256?: string;
}

/** A sentence-embedding model `hub models pull` knows: where it is, which commit, what to check. */
export interface KnownModel {
  name: string;
  /** Hugging Face repository id. */
  repo: string;
  /** The commit (40 hex digits) files are fetched at; unset: not pinned yet, so `--revision` must give it. */
  revision?: string;
  files: KnownModelFile[];
  /** The `knowledge.embedder` settings the model was trained for (pooling, prefixes). */
  embedder: Partial<Omit<OnnxEmbedderConfig, 'modelDir'>>;
  licence: string;
  about: string;
}

/** The files the embedder reads (tokenizer_config.json only refines the tokenizer). */
const ONNX_EXPORT_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model.onnx'];

/**
 * The models `hub models pull` can fetch. Both are the ONNX exports Hugging Face publishes for
 * transformers.js (the `Xenova/` repositories: the original weights converted, same tokenizer).
 *
 * Revisions and checksums are NOT pinned in this table yet: they were written on machines without
 * access to Hugging Face, and a made-up value would be worse than none. Until someone with access
 * fills them in (the commit hash from the repository's history page; each file's SHA-256 from its
 * file page, or `sha256sum` of a download), `hub models pull` asks for `--revision` and
 * `--checksums` and refuses to write a file it cannot check.
 */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    name: 'bge-small-zh-v1.5',
    repo: 'Xenova/bge-small-zh-v1.5',
    files: ONNX_EXPORT_FILES.map((path) => ({ path })),
    // BGE takes the [CLS] vector; the instruction is for short questions against longer passages.
    embedder: { pooling: 'cls', queryPrefix: '为这个句子生成表示以用于检索相关文章：', passagePrefix: '' },
    licence: 'MIT',
    about: 'BAAI bge-small-zh-v1.5: Chinese, 512 dimensions, 24M parameters',
  },
  {
    name: 'multilingual-e5-small',
    repo: 'Xenova/multilingual-e5-small',
    files: ONNX_EXPORT_FILES.map((path) => ({ path })),
    // E5 was trained with these prefixes and mean pooling; without them its scores drift.
    embedder: { pooling: 'mean', queryPrefix: 'query: ', passagePrefix: 'passage: ' },
    licence: 'MIT',
    about:
      'intfloat multilingual-e5-small: about 100 languages, Chinese and English included, 384 dimensions, 118M parameters',
  },
];

export function findKnownModel(
  name: string,
  catalog: readonly KnownModel[] = KNOWN_MODELS,
): KnownModel | undefined {
  return catalog.find((model) => model.name === name);
}
