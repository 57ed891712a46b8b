/**
 * Fitting the selection weights to what people preferred (InstructGPT's reward model, over banter's
 * own named scores). A Bradley–Terry model: P(a preferred over b) = sigmoid(w · (s_a − s_b)), with
 * s the candidates' scores, fitted by L2-regularised maximum likelihood (Newton's method; the
 * problem is a logistic regression without intercept over score differences). Because selection
 * takes the candidate with the highest w · s, the fitted w are selection weights as they are.
 */
import type { PreferencePair } from './pairs.js';

/** Two candidates' scores; the first was preferred. `group` keeps one turn's pairs on one side of the split. */
export interface ScoredPair {
  winner: Record<string, number>;
  loser: Record<string, number>;
  group: string;
  /** The preset of the turn, for the weights that were in effect. */
  preset: string;
}

export interface FitOptions {
  /** L2 penalty (lambda / 2 · |w|²); keeps weights finite when the pairs are separable. */
  l2: number;
  maxIterations?: number;
}

export interface FitResult {
  weights: Record<string, number>;
  iterations: number;
  converged: boolean;
  /** Mean negative log-likelihood per pair at the optimum. */
  loss: number;
}

export interface TuneOptions extends FitOptions {
  /** Score names to fit; default every score that differs between the two candidates of some training pair. */
  features?: string[];
  /** Share of turns held out to measure pairwise accuracy. */
  holdout: number;
  /** Salt of the held-out split (the same salt gives the same split). */
  seed?: string;
}

export interface TuneReport {
  features: string[];
  pairs: { train: number; heldOut: number };
  fit: FitResult;
  /** Held-out pairwise accuracy: how often the weights rank the preferred candidate first (ties count half). */
  accuracy: { before: number; after: number };
  /** Accuracy on the training pairs, for comparison. */
  trainAccuracy: { before: number; after: number };
}

export function scoredPairs(pairs: readonly PreferencePair[]): ScoredPair[] {
  return pairs.map(({ turn, chosen, rejected }) => ({
    winner: turn.candidates[chosen].scores,
    loser: turn.candidates[rejected].scores,
    group: turn.turnId,
    preset: turn.preset,
  }));
}

/** A score as selection reads it: missing or not a finite number counts as 0 (the store's JSON turns -Infinity into null). */
function score(scores: Record<string, number>, name: string): number {
  const value = scores[name];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function difference(pair: ScoredPair, features: readonly string[]): number[] {
  return features.map((name) => score(pair.winner, name) - score(pair.loser, name));
}

/** Scores that tell the two candidates of at least one pair apart. */
export function informativeFeatures(pairs: readonly ScoredPair[]): string[] {
  const names = new Set<string>();
  for (const pair of pairs) {
    for (const name of new Set([...Object.keys(pair.winner), ...Object.keys(pair.loser)])) {
      if (score(pair.winner, name) !== score(pair.loser, name)) names.add(name);
    }
  }
  return [...names].sort();
}

/** Maximum a-posteriori Bradley–Terry weights (Newton's method with a backtracking step). */
export function fitBradleyTerry(pairs: readonly ScoredPair[], features: readonly string[], options: FitOptions): FitResult {
  const rows = pairs.map((pair) => difference(pair, features));
  const dims = features.length;
  const lambda = options.l2;
  const objective = (w: number[]) => rows.reduce((sum, x) => sum + softplus(-dot(w, x)), 0) + (lambda / 2) * dot(w, w);
  let w = new Array<number>(dims).fill(0);
  let value = objective(w);
  let iterations = 0;
  let converged = dims === 0;
  const limit = options.maxIterations ?? 100;
  while (!converged && iterations < limit) {
    iterations++;
    const gradient = w.map((wi) => lambda * wi);
    const hessian = Array.from({ length: dims }, (_, i) => Array.from({ length: dims }, (_, j) => (i === j ? lambda : 0)));
    for (const x of rows) {
      const p = sigmoid(dot(w, x));
      for (let i = 0; i < dims; i++) {
        gradient[i] -= (1 - p) * x[i];
        for (let j = 0; j < dims; j++) hessian[i][j] += p * (1 - p) * x[i] * x[j];
      }
    }
    const step = solve(hessian, gradient);
    // Newton's step is a descent direction (the Hessian is positive definite); halve it until the objective falls.
    let scale = 1;
    let next = w.map((wi, i) => wi - step[i]);
    let nextValue = objective(next);
    while (nextValue > value && scale > 1e-6) {
      scale /= 2;
      next = w.map((wi, i) => wi - scale * step[i]);
      nextValue = objective(next);
    }
    const moved = Math.sqrt(dot(step, step)) * scale;
    w = next;
    converged = moved < 1e-9 * (1 + Math.sqrt(dot(w, w))) || Math.abs(value - nextValue) < 1e-12 * (1 + Math.abs(value));
    value = nextValue;
  }
  return {
    weights: Object.fromEntries(features.map((name, i) => [name, w[i]])),
    iterations,
    converged,
    loss: rows.length > 0 ? (value - (lambda / 2) * dot(w, w)) / rows.length : 0,
  };
}

/** Share of pairs where the weights give the preferred candidate the higher total (ties count half). */
export function pairwiseAccuracy(pairs: readonly ScoredPair[], weightsOf: (pair: ScoredPair) => Record<string, number>): number {
  if (pairs.length === 0) return Number.NaN;
  let right = 0;
  for (const pair of pairs) {
    const weights = weightsOf(pair);
    const margin = Object.entries(weights).reduce((sum, [name, weight]) => sum + weight * (score(pair.winner, name) - score(pair.loser, name)), 0);
    right += margin > 0 ? 1 : margin === 0 ? 0.5 : 0;
  }
  return right / pairs.length;
}

/** Whether a turn is held out: a stable hash of its id (and the seed) below the held-out share. */
export function heldOut(group: string, share: number, seed = ''): boolean {
  let hash = 2166136261;
  for (const char of `${seed}:${group}`) hash = Math.imul(hash ^ char.charCodeAt(0), 16777619) >>> 0;
  return hash / 2 ** 32 < share;
}

/**
 * Splits the pairs by turn, fits on the training part, and compares the held-out pairwise
 * accuracy of the weights in effect (`current`, per preset) with the fitted ones. Fitted weights
 * replace the current ones for the fitted scores; other current weights stay as they were.
 */
export function tuneSelection(pairs: readonly ScoredPair[], current: (preset: string) => Record<string, number>, options: TuneOptions): TuneReport {
  const test = pairs.filter((pair) => heldOut(pair.group, options.holdout, options.seed));
  const train = pairs.filter((pair) => !heldOut(pair.group, options.holdout, options.seed));
  const features = options.features ?? informativeFeatures(train);
  const fit = fitBradleyTerry(train, features, options);
  const before = (pair: ScoredPair) => current(pair.preset);
  const after = (pair: ScoredPair) => ({ ...current(pair.preset), ...fit.weights });
  return {
    features,
    pairs: { train: train.length, heldOut: test.length },
    fit,
    accuracy: { before: pairwiseAccuracy(test, before), after: pairwiseAccuracy(test, after) },
    trainAccuracy: { before: pairwiseAccuracy(train, before), after: pairwiseAccuracy(train, after) },
  };
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

/** Solves A x = b by Gaussian elimination with partial pivoting (A is small and positive definite). */
function solve(matrix: number[][], vector: number[]): number[] {
  const n = vector.length;
  const a = matrix.map((row, i) => [...row, vector[i]]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(a[row][col]) > Math.abs(a[pivot][col])) pivot = row;
    [a[col], a[pivot]] = [a[pivot], a[col]];
    for (let row = col + 1; row < n; row++) {
      const factor = a[row][col] / a[col][col];
      for (let k = col; k <= n; k++) a[row][k] -= factor * a[col][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let row = n - 1; row >= 0; row--) {
    let sum = a[row][n];
    for (let k = row + 1; k < n; k++) sum -= a[row][k] * x[k];
    x[row] = sum / a[row][row];
  }
  return x;
}
