import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import protobuf from 'protobufjs';
import { seededRandom } from '../../core/random';

/**
 * The part of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto3) a graph of one Gather needs; field
 * numbers are the official ones, so onnxruntime reads the bytes as a real model.
 */
const ONNX_PROTO = `
syntax = "proto3";
package onnx;
message OperatorSetIdProto { string domain = 1; int64 version = 2; }
message TensorProto {
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  string name = 8;
}
message TensorShapeProto {
  message Dimension { oneof value { int64 dim_value = 1; string dim_param = 2; } }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { int32 elem_type = 1; TensorShapeProto shape = 2; }
  oneof value { Tensor tensor_type = 1; }
}
message ValueInfoProto { string name = 1; TypeProto type = 2; }
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  string domain = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
}
message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
}
`;

const FLOAT = 1;
const INT64 = 7;

const tensorType = (elemType: number, dims: (number | string)[]) => ({
  tensorType: {
    elemType,
    shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
  },
});

/**
 * An ONNX sentence-embedding graph in miniature: inputs input_ids, attention_mask (and
 * token_type_ids) as int64 [batch, seq]; output last_hidden_state = Gather(table, input_ids), float
 * [batch, seq, dim]. attention_mask is taken and ignored, as a real encoder's padding rows are
 * still computed; masking is the pooling's job.
 */
export function tinyEmbeddingModel(table: number[][], options: { tokenTypeIds?: boolean } = {}): Uint8Array {
  const root = protobuf.parse(ONNX_PROTO).root;
  const Model = root.lookupType('onnx.ModelProto');
  const dim = table[0]?.length ?? 0;
  const ids = ['input_ids', 'attention_mask', ...(options.tokenTypeIds ? ['token_type_ids'] : [])];
  const model = {
    irVersion: 8,
    producerName: 'hub-test',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'tiny-embedder',
      node: [
        { input: ['table', 'input_ids'], output: ['last_hidden_state'], name: 'lookup', opType: 'Gather' },
      ],
      initializer: [{ name: 'table', dims: [table.length, dim], dataType: FLOAT, floatData: table.flat() }],
      input: ids.map((name) => ({ name, type: tensorType(INT64, ['batch', 'sequence']) })),
      output: [{ name: 'last_hidden_state', type: tensorType(FLOAT, ['batch', 'sequence', dim]) }],
    },
  };
  const problem = Model.verify(model);
  if (problem) throw new Error(`tiny ONNX model: ${problem}`);
  return Model.encode(Model.fromObject(model)).finish();
}

export const SPECIAL_TOKENS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]'] as const;

/**
 * A BERT-style tokenizer.json (lower-casing, CJK characters split one by one, WordPiece over
 * `words`, [CLS] … [SEP] around each text), ids: the special tokens 0-3, then `words` in order.
 */
export function tinyTokenizer(words: string[]): object {
  const vocab = Object.fromEntries([...SPECIAL_TOKENS, ...words].map((token, id) => [token, id]));
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const token = (id: string) => ({ SpecialToken: { id, type_id: 0 } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL_TOKENS.map(special),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [token('[CLS]'), { Sequence: { id: 'A', type_id: 0 } }, token('[SEP]')],
      pair: [
        token('[CLS]'),
        { Sequence: { id: 'A', type_id: 0 } },
        token('[SEP]'),
        { Sequence: { id: 'B', type_id: 1 } },
        token('[SEP]'),
      ],
      special_tokens: Object.fromEntries(
        ['[CLS]', '[SEP]'].map((t) => [t, { id: t, ids: [vocab[t]], tokens: [t] }]),
      ),
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  };
}

/** Deterministic numbers in [-1, 1), so a test's vectors are the same on every run. */
function signedRandom(seed: number): () => number {
  const next = seededRandom(seed);
  return () => next() * 2 - 1;
}

export interface TinyModelOptions {
  /** Vocabulary after the special tokens. */
  words: string[];
  dimensions?: number;
  /** Words that share one vector (synonyms the lexical index cannot see). */
  sameVector?: [string, string][];
  tokenTypeIds?: boolean;
  /** Where the .onnx goes inside the folder (default onnx/model.onnx, as Hugging Face repos keep it). */
  modelFile?: string;
  seed?: number;
}

/** Writes a model folder as `hub models pull` leaves one: tokenizer.json, config.json, onnx/model.onnx. */
export async function writeTinyModel(dir: string, options: TinyModelOptions): Promise<{ table: number[][] }> {
  const dimensions = options.dimensions ?? 16;
  const random = signedRandom(options.seed ?? 7);
  const tokens = [...SPECIAL_TOKENS, ...options.words];
  const table = tokens.map(() => Array.from({ length: dimensions }, () => random()));
  for (const [a, b] of options.sameVector ?? []) {
    const from = tokens.indexOf(a);
    const to = tokens.indexOf(b);
    if (from < 0 || to < 0) throw new Error(`sameVector: ${a} or ${b} is not in words`);
    table[to] = [...(table[from] ?? [])];
  }
  const modelFile = options.modelFile ?? 'onnx/model.onnx';
  await mkdir(path.dirname(path.join(dir, modelFile)), { recursive: true });
  await writeFile(path.join(dir, modelFile), tinyEmbeddingModel(table, options));
  await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizer(options.words)));
  await writeFile(
    path.join(dir, 'config.json'),
    JSON.stringify({ model_type: 'bert', hidden_size: dimensions, vocab_size: tokens.length }),
  );
  return { table };
}
