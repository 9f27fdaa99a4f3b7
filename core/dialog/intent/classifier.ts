import { seededRandom as random } from '../../random';
import { EmbeddingModel, type EmbeddingOptions } from './embedding';
import { featuresOf } from './features';

/**
 * Tier (b) of intent recognition: TF-IDF features (./features.ts) and a multinomial logistic
 * regression trained by stochastic gradient descent, in process, on CPU, at start-up; from
 * `ensembleFrom` examples on, joined by a fastText-style embedding model (./embedding.ts) over the
 * same features, the two probabilities combined by a weighted geometric mean. The resulting
 * probability is the confidence the recognizer compares with its threshold.
 */

export interface LabelledUtterance {
  text: string;
  label: string;
}

export interface ClassifierOptions {
  /** Most passes over the training set. */
  epochs?: number;
  /** Stop early once an epoch lowers the mean training loss by less than this fraction. */
  tolerance?: number;
  /** Initial step size; decays as 1 / (1 + step · l2 · t). */
  learningRate?: number;
  /** L2 penalty per example. */
  l2?: number;
  /** Features seen in fewer training utterances are dropped. */
  minDf?: number;
  /** Shuffling seed: the same data and seed give the same model. */
  seed?: number;
  /** Lengths of the character n-grams taken inside English words. */
  charNgrams?: [number, number];
  /**
   * `linear`: the regression alone. `ensemble`: with the embedding model (about twice the training
   * time). `auto`: the ensemble from `ensembleFrom` training examples on, the regression below.
   */
  model?: 'auto' | 'ensemble' | 'linear';
  /** Fewest examples for which `auto` trains the ensemble. */
  ensembleFrom?: number;
  /** The embedding model's size and schedule (its seed is `seed`). */
  embedding?: Partial<Omit<EmbeddingOptions, 'seed'>>;
  /** Weight of the embedding model in the geometric mean (the regression has 1 - this). */
  embeddingWeight?: number;
}

export interface Classification {
  label: string;
  /** Softmax probability of `label`. */
  confidence: number;
  /** The best labels, most probable first (at most 3). */
  ranking: { label: string; confidence: number }[];
}

interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/** Gradients smaller than this change no prediction; skipping them makes training several times faster. */
const GRADIENT_FLOOR = 1e-4;

const DEFAULTS: Required<ClassifierOptions> = {
  epochs: 12,
  learningRate: 0.5,
  l2: 1e-5,
  minDf: 2,
  seed: 1,
  tolerance: 0,
  charNgrams: [2, 4],
  model: 'auto',
  ensembleFrom: 1000,
  embedding: {},
  embeddingWeight: 0.4,
};

const EMBEDDING_DEFAULTS: Omit<EmbeddingOptions, 'seed'> = { dimensions: 100, epochs: 10, learningRate: 0.2 };

/** Which model `train` builds for this many examples: `auto` resolved. */
export function resolveModel(examples: number, options: ClassifierOptions = {}): 'ensemble' | 'linear' {
  const model = options.model ?? DEFAULTS.model;
  if (model !== 'auto') return model;
  return examples >= (options.ensembleFrom ?? DEFAULTS.ensembleFrom) ? 'ensemble' : 'linear';
}

export function shuffleInPlace<T>(items: T[], next: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

export class IntentClassifier {
  private embedding: EmbeddingModel | undefined;
  private embeddingWeight = 0;

  private constructor(
    readonly labels: string[],
    private readonly vocabulary: Map<string, number>,
    private readonly idf: Float32Array,
    /** weights[feature * labels + label]: one feature's row is contiguous. */
    private readonly weights: Float64Array,
    private readonly bias: Float32Array,
    private readonly charNgrams: [number, number],
  ) {}

  /** Train on labelled utterances. 10k utterances and 77 labels take a few seconds on one core. */
  static train(examples: LabelledUtterance[], options: ClassifierOptions = {}): IntentClassifier {
    const opts = { ...DEFAULTS, ...options };
    const labels = [...new Set(examples.map((e) => e.label))].sort();
    if (labels.length < 2) throw new Error('an intent classifier needs examples of at least two intents');
    const labelIndex = new Map(labels.map((label, i) => [label, i]));
    const tokenized = examples.map((e) => featuresOf(e.text, opts.charNgrams));

    const df = new Map<string, number>();
    for (const features of tokenized) for (const f of new Set(features)) df.set(f, (df.get(f) ?? 0) + 1);
    const vocabulary = new Map<string, number>();
    for (const [feature, count] of df) if (count >= opts.minDf) vocabulary.set(feature, vocabulary.size);
    const idf = new Float32Array(vocabulary.size);
    const n = examples.length;
    for (const [feature, index] of vocabulary)
      idf[index] = Math.log((1 + n) / (1 + (df.get(feature) ?? 0))) + 1;

    const K = labels.length;
    const model = new IntentClassifier(
      labels,
      vocabulary,
      idf,
      new Float64Array(vocabulary.size * K),
      new Float32Array(K),
      opts.charNgrams,
    );
    const vectors = tokenized.map((features) => model.vectorize(features));
    const targets = examples.map((e) => labelIndex.get(e.label) as number);
    model.fit(vectors, targets, opts);
    if (resolveModel(examples.length, opts) === 'ensemble') {
      model.embedding = EmbeddingModel.train(vectors, targets, vocabulary.size, K, {
        ...EMBEDDING_DEFAULTS,
        ...opts.embedding,
        seed: opts.seed,
      });
      model.embeddingWeight = opts.embeddingWeight;
    }
    return model;
  }

  /** `ensemble` when the embedding model was trained beside the regression. */
  get model(): 'ensemble' | 'linear' {
    return this.embedding ? 'ensemble' : 'linear';
  }

  /** The most probable intent and its probability. Folds and featurizes `text` itself. */
  classify(text: string): Classification {
    const probabilities = this.probabilities(this.vectorize(featuresOf(text, this.charNgrams)));
    const order = Array.from(probabilities.keys()).sort(
      (a, b) => (probabilities[b] ?? 0) - (probabilities[a] ?? 0),
    );
    const ranking = order
      .slice(0, 3)
      .map((i) => ({ label: this.labels[i] as string, confidence: probabilities[i] ?? 0 }));
    const best = ranking[0] as { label: string; confidence: number };
    return { label: best.label, confidence: best.confidence, ranking };
  }

  get featureCount(): number {
    return this.vocabulary.size;
  }

  private vectorize(features: string[]): SparseVector {
    const counts = new Map<number, number>();
    for (const feature of features) {
      const index = this.vocabulary.get(feature);
      if (index !== undefined) counts.set(index, (counts.get(index) ?? 0) + 1);
    }
    const indices = new Int32Array(counts.size);
    const values = new Float32Array(counts.size);
    let norm = 0;
    let i = 0;
    for (const [index, count] of counts) {
      const value = (1 + Math.log(count)) * (this.idf[index] ?? 0);
      indices[i] = index;
      values[i] = value;
      norm += value * value;
      i++;
    }
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < values.length; j++) values[j] = (values[j] ?? 0) / norm;
    return { indices, values };
  }

  private scores(x: SparseVector, scale: number, out: Float64Array): void {
    const K = this.labels.length;
    for (let k = 0; k < K; k++) out[k] = 0;
    for (let j = 0; j < x.indices.length; j++) {
      const row = (x.indices[j] as number) * K;
      const value = (x.values[j] as number) * scale;
      for (let k = 0; k < K; k++) out[k] = (out[k] as number) + value * (this.weights[row + k] as number);
    }
    for (let k = 0; k < K; k++) out[k] = (out[k] as number) + (this.bias[k] as number);
  }

  private static softmaxInPlace(values: Float64Array): void {
    let max = Number.NEGATIVE_INFINITY;
    for (const v of values) if (v > max) max = v;
    let sum = 0;
    for (let k = 0; k < values.length; k++) {
      const e = Math.exp((values[k] as number) - max);
      values[k] = e;
      sum += e;
    }
    for (let k = 0; k < values.length; k++) values[k] = (values[k] as number) / sum;
  }

  private probabilities(x: SparseVector): Float64Array {
    const out = new Float64Array(this.labels.length);
    this.scores(x, 1, out);
    IntentClassifier.softmaxInPlace(out);
    if (!this.embedding) return out;
    // Weighted geometric mean of the two models' probabilities, normalized again.
    const other = new Float64Array(this.labels.length);
    this.embedding.probabilities(x, other);
    const w = this.embeddingWeight;
    let sum = 0;
    for (let k = 0; k < out.length; k++) {
      const p = Math.exp(
        (1 - w) * Math.log((out[k] as number) + 1e-12) + w * Math.log((other[k] as number) + 1e-12),
      );
      out[k] = p;
      sum += p;
    }
    for (let k = 0; k < out.length; k++) out[k] = (out[k] as number) / sum;
    return out;
  }

  /**
   * Plain SGD on the softmax cross-entropy. The L2 shrinkage of every weight is folded into one
   * scale factor (weights = scale · stored), so a step touches only the example's features.
   */
  private fit(vectors: SparseVector[], targets: number[], opts: Required<ClassifierOptions>): void {
    const K = this.labels.length;
    const order = Array.from(vectors.keys());
    const next = random(opts.seed);
    const p = new Float64Array(K);
    const activeLabels = new Int32Array(K);
    const activeGradients = new Float64Array(K);
    let scale = 1;
    let t = 0;
    let previousLoss = Number.POSITIVE_INFINITY;
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      shuffleInPlace(order, next);
      let loss = 0;
      for (const i of order) {
        const x = vectors[i] as SparseVector;
        const lr = opts.learningRate / (1 + opts.learningRate * opts.l2 * t++);
        this.scores(x, scale, p);
        IntentClassifier.softmaxInPlace(p);
        loss -= Math.log(Math.max(p[targets[i] as number] as number, 1e-12));
        p[targets[i] as number] = (p[targets[i] as number] as number) - 1; // gradient of the loss w.r.t. scores
        scale *= 1 - lr * opts.l2;
        const step = lr / scale;
        // Once the model is fair, most labels get a near-zero gradient: update only the others.
        let active = 0;
        for (let k = 0; k < K; k++) {
          const g = p[k] as number;
          if (g > GRADIENT_FLOOR || g < -GRADIENT_FLOOR) {
            activeLabels[active] = k;
            activeGradients[active++] = g;
          }
        }
        for (let j = 0; j < x.indices.length; j++) {
          const row = (x.indices[j] as number) * K;
          const value = (x.values[j] as number) * step;
          for (let a = 0; a < active; a++) {
            const w = row + (activeLabels[a] as number);
            this.weights[w] = (this.weights[w] as number) - value * (activeGradients[a] as number);
          }
        }
        for (let a = 0; a < active; a++) {
          const k = activeLabels[a] as number;
          this.bias[k] = (this.bias[k] as number) - lr * (activeGradients[a] as number);
        }
        if (scale < 1e-6) {
          for (let w = 0; w < this.weights.length; w++) this.weights[w] = (this.weights[w] as number) * scale;
          scale = 1;
        }
      }
      loss /= order.length;
      if (previousLoss - loss < opts.tolerance * previousLoss) break;
      previousLoss = loss;
    }
    for (let w = 0; w < this.weights.length; w++) this.weights[w] = (this.weights[w] as number) * scale;
  }
}
