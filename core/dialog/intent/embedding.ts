/**
 * A fastText-style classifier over the same TF-IDF vectors as the regression: every feature (word,
 * word bigram, character n-gram) has a learned dense embedding; an utterance is the TF-IDF-weighted
 * sum of its features' embeddings, and a softmax layer reads it. The low-rank bottleneck shares
 * what the intents have in common, so it errs on other utterances than the regression: their
 * geometric mean is right more often than either (BANKING77, core/dialog/DIALOG.md).
 * Trained by SGD with a linearly decaying step, as fastText does; seeded, so deterministic.
 */

import { seededRandom } from '../../random';

export interface EmbeddingOptions {
  /** Size of each feature's embedding. */
  dimensions: number;
  epochs: number;
  /** Initial step size, decaying linearly to 0 over the training. */
  learningRate: number;
  seed: number;
}

export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/** Gradients smaller than this change no prediction: labels with one are skipped. */
const GRADIENT_FLOOR = 1e-4;

export class EmbeddingModel {
  private readonly hidden: Float64Array;

  private constructor(
    private readonly labels: number,
    private readonly dimensions: number,
    /** embeddings[feature * dimensions + q] */
    private readonly embeddings: Float32Array,
    /** output[label * dimensions + q] */
    private readonly output: Float32Array,
    private readonly bias: Float32Array,
  ) {
    this.hidden = new Float64Array(dimensions);
  }

  static train(
    vectors: readonly SparseVector[],
    targets: readonly number[],
    features: number,
    labels: number,
    options: EmbeddingOptions,
  ): EmbeddingModel {
    const d = options.dimensions;
    const next = seededRandom(options.seed);
    const embeddings = new Float32Array(features * d);
    for (let i = 0; i < embeddings.length; i++) embeddings[i] = (next() * 2 - 1) / d;
    const model = new EmbeddingModel(
      labels,
      d,
      embeddings,
      new Float32Array(labels * d),
      new Float32Array(labels),
    );
    model.fit(vectors, targets, options, next);
    return model;
  }

  /** Class probabilities of one vector, written into `out` (length: labels). */
  probabilities(x: SparseVector, out: Float64Array): void {
    const d = this.dimensions;
    const h = this.hidden;
    h.fill(0);
    for (let j = 0; j < x.indices.length; j++) {
      const row = (x.indices[j] as number) * d;
      const value = x.values[j] as number;
      for (let q = 0; q < d; q++) h[q] = (h[q] as number) + value * (this.embeddings[row + q] as number);
    }
    let max = Number.NEGATIVE_INFINITY;
    for (let k = 0; k < this.labels; k++) {
      let z = this.bias[k] as number;
      const row = k * d;
      for (let q = 0; q < d; q++) z += (this.output[row + q] as number) * (h[q] as number);
      out[k] = z;
      if (z > max) max = z;
    }
    let sum = 0;
    for (let k = 0; k < this.labels; k++) {
      const e = Math.exp((out[k] as number) - max);
      out[k] = e;
      sum += e;
    }
    for (let k = 0; k < this.labels; k++) out[k] = (out[k] as number) / sum;
  }

  private fit(
    vectors: readonly SparseVector[],
    targets: readonly number[],
    options: EmbeddingOptions,
    next: () => number,
  ): void {
    const d = this.dimensions;
    const p = new Float64Array(this.labels);
    const gradHidden = new Float64Array(d);
    const order = Array.from(vectors.keys());
    const total = options.epochs * order.length;
    let t = 0;
    for (let epoch = 0; epoch < options.epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(next() * (i + 1));
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      for (const i of order) {
        const rate = options.learningRate * (1 - t++ / total);
        const x = vectors[i] as SparseVector;
        this.probabilities(x, p); // leaves the utterance's embedding in this.hidden
        const h = this.hidden;
        const y = targets[i] as number;
        p[y] = (p[y] as number) - 1;
        gradHidden.fill(0);
        for (let k = 0; k < this.labels; k++) {
          const g = p[k] as number;
          if (g > -GRADIENT_FLOOR && g < GRADIENT_FLOOR) continue;
          const row = k * d;
          for (let q = 0; q < d; q++) {
            const w = this.output[row + q] as number;
            gradHidden[q] = (gradHidden[q] as number) + g * w;
            this.output[row + q] = w - rate * g * (h[q] as number);
          }
          this.bias[k] = (this.bias[k] as number) - rate * g;
        }
        for (let j = 0; j < x.indices.length; j++) {
          const row = (x.indices[j] as number) * d;
          const step = (x.values[j] as number) * rate;
          for (let q = 0; q < d; q++) {
            this.embeddings[row + q] =
              (this.embeddings[row + q] as number) - step * (gradHidden[q] as number);
          }
        }
      }
    }
  }
}
