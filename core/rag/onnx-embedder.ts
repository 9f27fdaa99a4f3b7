import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Tokenizer } from '@huggingface/tokenizers';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { HubConfig } from '../config/schema';
import { HubError } from '../types/errors';
import type { Embedder, EmbedKind } from './embedder';

export type OnnxEmbedderConfig = NonNullable<HubConfig['knowledge']['embedder']>;

/** What a model folder holds, checked before anything is loaded. */
export interface OnnxModelFiles {
  dir: string;
  model: string;
  tokenizer: string;
  /** tokenizer_config.json when the folder has one (special-token and casing settings). */
  tokenizerConfig?: string;
  /** Width of the model's token vectors (config.json `hidden_size`). */
  dimensions: number;
}

const MODEL_CANDIDATES = ['onnx/model.onnx', 'model.onnx'];

function invalid(message: string, cause?: unknown): HubError {
  return new HubError('config.invalid', message, cause === undefined ? {} : { cause });
}

/**
 * Checks `knowledge.embedder.modelDir` on disk, synchronously and without loading the model, so a
 * wrong folder fails at start-up (and in `hub validate`) with what is missing and how to get it.
 */
export function inspectModelDir(config: OnnxEmbedderConfig, cwd = process.cwd()): OnnxModelFiles {
  const dir = path.resolve(cwd, config.modelDir);
  const fix = `Fix: point knowledge.embedder.modelDir at a sentence-embedding model folder (tokenizer.json, config.json, onnx/model.onnx), e.g. one fetched with \`hub models pull multilingual-e5-small\`.`;
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw invalid(`knowledge.embedder.modelDir: ${dir} is not a folder. ${fix}`);
  }
  const candidates = config.modelFile ? [config.modelFile] : MODEL_CANDIDATES;
  const model = candidates.map((file) => path.join(dir, file)).find((file) => existsSync(file));
  if (!model) {
    throw invalid(`knowledge.embedder.modelDir: ${dir} has no ${candidates.join(' or ')}. ${fix}`);
  }
  const tokenizer = path.join(dir, 'tokenizer.json');
  if (!existsSync(tokenizer)) {
    throw invalid(
      `knowledge.embedder.modelDir: ${dir} has no tokenizer.json (the Hugging Face fast-tokenizer file). ${fix}`,
    );
  }
  const configFile = path.join(dir, 'config.json');
  let modelConfig: Record<string, unknown>;
  try {
    modelConfig = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
  } catch (cause) {
    throw invalid(`knowledge.embedder.modelDir: cannot read ${configFile} as JSON. ${fix}`, cause);
  }
  // BERT and XLM-R name the width hidden_size; DistilBERT dim; T5-style encoders d_model.
  const dimensions = [modelConfig.hidden_size, modelConfig.dim, modelConfig.d_model].find(
    (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0,
  );
  if (dimensions === undefined) {
    throw invalid(`knowledge.embedder.modelDir: ${configFile} has no hidden_size. ${fix}`);
  }
  const tokenizerConfig = path.join(dir, 'tokenizer_config.json');
  return {
    dir,
    model,
    tokenizer,
    ...(existsSync(tokenizerConfig) ? { tokenizerConfig } : {}),
    dimensions,
  };
}

interface Loaded {
  session: InferenceSession;
  Tensor: typeof Tensor;
  tokenizer: Tokenizer;
  /** Special tokens the tokenizer puts after a text ([SEP], </s>); kept when a long text is cut. */
  tail: number;
  padId: number;
  output: string;
  tokenTypes: boolean;
}

/**
 * Dense vectors from an ONNX sentence-embedding model on disk (bge-small-zh-v1.5,
 * multilingual-e5-small, ...), run in-process on the CPU by onnxruntime-node; texts are tokenized
 * with the model's own tokenizer.json (@huggingface/tokenizers). Nothing is downloaded: the folder
 * is checked when the embedder is made, and the runtime and model are loaded at the first `embed`.
 * Model runs go one at a time (each already uses every core), so a question waits at most one
 * batch of an index rebuild.
 */
export class OnnxEmbedder implements Embedder {
  readonly name: string;
  readonly dimensions: number;
  readonly files: OnnxModelFiles;
  private loading?: Promise<Loaded>;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: OnnxEmbedderConfig,
    cwd = process.cwd(),
  ) {
    this.files = inspectModelDir(config, cwd);
    this.dimensions = this.files.dimensions;
    this.name = `onnx:${path.basename(this.files.dir)}`;
  }

  async embed(texts: string[], kind: EmbedKind = 'passage'): Promise<number[][]> {
    const prefix = kind === 'query' ? this.config.queryPrefix : this.config.passagePrefix;
    const loaded = await this.load();
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += this.config.batchSize) {
      const batch = texts.slice(start, start + this.config.batchSize).map((text) => prefix + text);
      vectors.push(...(await this.serially(() => this.run(loaded, batch))));
    }
    return vectors;
  }

  /** Frees the model's memory; a later `embed` loads it again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading) await (await loading.catch(() => undefined))?.session.release();
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private load(): Promise<Loaded> {
    this.loading ??= this.open();
    return this.loading;
  }

  private async open(): Promise<Loaded> {
    const { model, tokenizer: tokenizerFile, tokenizerConfig } = this.files;
    let tokenizer: Tokenizer;
    let padId: number;
    try {
      const { Tokenizer } = await import('@huggingface/tokenizers');
      const json = JSON.parse(await readFile(tokenizerFile, 'utf8')) as { padding?: { pad_id?: unknown } };
      const extra = tokenizerConfig ? JSON.parse(await readFile(tokenizerConfig, 'utf8')) : {};
      tokenizer = new Tokenizer(json, extra);
      // The padding id the file declares, else its [PAD] / <pad> token, else 0 (masked out either way).
      padId =
        typeof json.padding?.pad_id === 'number'
          ? json.padding.pad_id
          : (tokenizer.token_to_id('[PAD]') ?? tokenizer.token_to_id('<pad>') ?? 0);
    } catch (cause) {
      throw invalid(
        `knowledge.embedder: cannot load the tokenizer ${tokenizerFile}: ${(cause as Error).message}. Fix: use the model's own tokenizer.json.`,
        cause,
      );
    }
    const ort = await import('onnxruntime-node');
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(model, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        ...(this.config.threads ? { intraOpNumThreads: this.config.threads } : {}),
        interOpNumThreads: 1,
      });
    } catch (cause) {
      throw invalid(
        `knowledge.embedder: onnxruntime cannot load ${model}: ${(cause as Error).message}. Fix: the file must be an ONNX model (fetch it again with \`hub models pull\`).`,
        cause,
      );
    }
    const missing = ['input_ids', 'attention_mask'].filter((name) => !session.inputNames.includes(name));
    if (missing.length > 0) {
      await session.release();
      throw invalid(
        `knowledge.embedder: ${model} takes ${session.inputNames.join(', ')}; a sentence-embedding model takes input_ids and attention_mask (missing ${missing.join(', ')}). Fix: use a feature-extraction export of the model.`,
      );
    }
    const output = ['last_hidden_state', 'token_embeddings', 'sentence_embedding'].find((name) =>
      session.outputNames.includes(name),
    );
    return {
      session,
      Tensor: ort.Tensor,
      tokenizer,
      tail: closingSpecialTokens(tokenizer),
      padId,
      output: output ?? session.outputNames[0] ?? 'last_hidden_state',
      tokenTypes: session.inputNames.includes('token_type_ids'),
    };
  }

  private async run(loaded: Loaded, texts: string[]): Promise<number[][]> {
    const encoded = texts.map((text) => this.tokenize(loaded, text));
    const rows = encoded.length;
    const width = Math.max(1, ...encoded.map((ids) => ids.length));
    const ids = new BigInt64Array(rows * width).fill(BigInt(loaded.padId));
    const mask = new BigInt64Array(rows * width);
    encoded.forEach((row, r) => {
      row.forEach((id, c) => {
        ids[r * width + c] = BigInt(id);
        mask[r * width + c] = 1n;
      });
    });
    const shape = [rows, width];
    const feeds: Record<string, Tensor> = {
      input_ids: new loaded.Tensor('int64', ids, shape),
      attention_mask: new loaded.Tensor('int64', mask, shape),
    };
    if (loaded.tokenTypes)
      feeds.token_type_ids = new loaded.Tensor('int64', new BigInt64Array(rows * width), shape);
    let result: InferenceSession.ReturnType;
    try {
      result = await loaded.session.run(feeds, [loaded.output]);
    } catch (cause) {
      throw new HubError(
        'rag.embeddings',
        `${this.name} failed on ${rows} texts: ${(cause as Error).message}`,
        {
          cause,
        },
      );
    }
    const tensor = result[loaded.output];
    if (!tensor) throw new HubError('rag.embeddings', `${this.name} returned no ${loaded.output}`);
    const data = tensor.data as Float32Array;
    const dims = tensor.dims;
    const dim = dims[dims.length - 1] ?? 0;
    if (dim !== this.dimensions) {
      throw new HubError(
        'rag.embeddings_dimensions',
        `${this.name} returned ${dim}-dimensional vectors, its config.json says ${this.dimensions}. Fix: use the config.json that belongs to the model.`,
      );
    }
    const vectors: number[][] = [];
    for (let r = 0; r < rows; r++) {
      // A 2-D output is already one vector per text (a model exported with its pooling).
      const vector =
        dims.length === 2
          ? Array.from(data.subarray(r * dim, (r + 1) * dim))
          : pool(data, r, width, dim, encoded[r]?.length ?? 0, this.config.pooling);
      vectors.push(this.config.normalize ? normalise(vector) : vector);
    }
    return vectors;
  }

  /** The model's ids for one text, special tokens included, cut to maxLength keeping the closing ones. */
  private tokenize(loaded: Loaded, text: string): number[] {
    const ids = loaded.tokenizer.encode(text).ids;
    const max = this.config.maxLength;
    if (ids.length <= max) return ids;
    const tail = Math.min(loaded.tail, max - 1);
    return [...ids.slice(0, max - tail), ...ids.slice(ids.length - tail)];
  }
}

/** Mean of the real tokens' vectors (padding excluded), or the first token's. */
function pool(
  data: Float32Array,
  row: number,
  width: number,
  dim: number,
  length: number,
  pooling: 'mean' | 'cls',
): number[] {
  const base = row * width * dim;
  const vector = new Array<number>(dim).fill(0);
  const count = pooling === 'cls' ? 1 : Math.max(1, length);
  for (let t = 0; t < count; t++) {
    const offset = base + t * dim;
    for (let d = 0; d < dim; d++) vector[d] = (vector[d] ?? 0) + (data[offset + d] ?? 0);
  }
  return count === 1 ? vector : vector.map((value) => value / count);
}

function normalise(vector: number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/** How many special tokens the post-processor adds after a text, found by encoding a probe with and without them. */
function closingSpecialTokens(tokenizer: Tokenizer): number {
  const probe = 'a';
  const plain = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const full = tokenizer.encode(probe).ids;
  if (plain.length === 0) return 0;
  for (let start = 0; start + plain.length <= full.length; start++) {
    if (plain.every((id, i) => full[start + i] === id)) return full.length - start - plain.length;
  }
  return 0;
}
