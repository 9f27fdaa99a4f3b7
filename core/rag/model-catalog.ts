import type { OnnxEmbedderConfig } from './onnx-embedder';

/** One file of a known model and the SHA-256 its download must have. */
export interface KnownModelFile {
  /** Path inside the repository. */
  path: string;
  /** Path inside the model folder when it differs (the embedder reads `onnx/model.onnx`). */
  saveAs?: string;
  /** Lower-case hex SHA-256 at `revision`; unset: not pinned, so `--checksums` must give it. */
  sha256?: string;
  /** Size in bytes at `revision`: a download announcing another size is refused before it starts. */
  bytes?: number;
}

/** A sentence-embedding model `hub models pull` knows: where it is, which commit, what to check. */
export interface KnownModel {
  name: string;
  /** Hugging Face repository id. */
  repo: string;
  /** The commit (40 hex digits) files are fetched at; unset: not pinned, so `--revision` must give it. */
  revision?: string;
  files: KnownModelFile[];
  /** The `knowledge.embedder` settings the model was trained for (pooling, prefixes). */
  embedder: Partial<Omit<OnnxEmbedderConfig, 'modelDir'>>;
  licence: string;
  about: string;
}

/** One pinned file: its path at the commit, its size and its SHA-256. */
const pin = (path: string, bytes: number, sha256: string): KnownModelFile => ({ path, bytes, sha256 });

/**
 * The models `hub models pull` can fetch: the ONNX exports Hugging Face publishes for transformers.js
 * (the `Xenova/` repositories: the original weights converted, same tokenizer), in their int8
 * quantized form (`onnx/model_quantized.onnx`, saved as `onnx/model.onnx`): a quarter of the size
 * and faster on CPU, which is where the embedded hub runs them.
 *
 * Each model is pinned to one commit, and every file to its size and SHA-256 at that commit. The
 * values are the ones published alongside those commits (each file's Hugging Face page shows its
 * SHA-256) and recorded identically by several independent projects that pin the same exports;
 * they were not downloaded on the machine this table was written on, which has no access to
 * Hugging Face. A mismatch makes `hub models pull` write nothing and say which file differed.
 */
export const KNOWN_MODELS: readonly KnownModel[] = [
  {
    name: 'bge-small-zh-v1.5',
    repo: 'Xenova/bge-small-zh-v1.5',
    revision: '75c43b069aac4d136ba6bc1122f995fedcfd2781',
    files: [
      pin('config.json', 716, 'd4193ead3a810fd694fa8a31d7fc72fbaebc0668b603e398734bf2f6538ff42f'),
      pin('tokenizer.json', 439_125, '48cea5d44424912a6fd1ea647bf4fe50b55ab8b1e5879c3275f80e339e8fae26'),
      pin('tokenizer_config.json', 367, 'e6f3b96db926a37d4039995fbf5ad17de158dfb8f6343d607e4dbaad18d75f5a'),
      {
        ...pin(
          'onnx/model_quantized.onnx',
          24_010_842,
          '15b717c382bcb518ba457b93ea6850ede7f4f1cd8937454aa06972366cd19bcc',
        ),
        saveAs: 'onnx/model.onnx',
      },
    ],
    // BGE takes the [CLS] vector; the instruction is for short questions against longer passages.
    embedder: { pooling: 'cls', queryPrefix: '为这个句子生成表示以用于检索相关文章：', passagePrefix: '' },
    licence: 'MIT',
    about: 'BAAI bge-small-zh-v1.5 (int8 ONNX, 24 MB): Chinese, 512 dimensions, 24M parameters',
  },
  {
    name: 'multilingual-e5-small',
    repo: 'Xenova/multilingual-e5-small',
    revision: '761b726dd34fb83930e26aab4e9ac3899aa1fa78',
    files: [
      pin('config.json', 658, 'cb99455288675345e1a4f411438d5d0adbba5fbd3a67ea4fb03c015433b996c1'),
      pin('tokenizer.json', 17_082_730, '0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39'),
      pin('tokenizer_config.json', 443, 'a1d6bc8734a6f635dc158508bef000f8e2e5a759c7d92f984b2c86e5ff53425b'),
      {
        ...pin(
          'onnx/model_quantized.onnx',
          118_308_185,
          'f80102d3f2a1229f387d3c81909990d8945513e347b0eab049f7de3c6f98c193',
        ),
        saveAs: 'onnx/model.onnx',
      },
    ],
    // E5 was trained with these prefixes and mean pooling; without them its scores drift.
    embedder: { pooling: 'mean', queryPrefix: 'query: ', passagePrefix: 'passage: ' },
    licence: 'MIT',
    about:
      'intfloat multilingual-e5-small (int8 ONNX, 118 MB): about 100 languages, Chinese and English included, 384 dimensions, 118M parameters',
  },
];

export function findKnownModel(
  name: string,
  catalog: readonly KnownModel[] = KNOWN_MODELS,
): KnownModel | undefined {
  return catalog.find((model) => model.name === name);
}
