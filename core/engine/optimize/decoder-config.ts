/**
 * What the slot-cache graph needs from config.json: sizes, norm epsilon, activation, rotary
 * frequencies (computed as transformers computes them), and the families it is written for.
 */
import { OptimizeError } from './errors.js';

/** Families whose decoder is Llama's (pre-norm RMSNorm, rotary, GQA, gated MLP) up to the flags below. */
export const SUPPORTED_MODEL_TYPES = ['llama', 'mistral', 'qwen2', 'gemma', 'phi3'] as const;

export type Activation = 'silu' | 'gelu_tanh';

export interface DecoderConfig {
  modelType: string;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  layers: number;
  eps: number;
  activation: Activation;
  /** Rotary inverse frequencies, head_dim / 2 of them. */
  invFreq: Float32Array;
  /** Attention window of the model, where it has one (the slot graph attends to all slots). */
  slidingWindow?: number;
}

const num = (config: Record<string, unknown>, key: string): number | undefined =>
  typeof config[key] === 'number' ? (config[key] as number) : undefined;

function required(config: Record<string, unknown>, key: string): number {
  const value = num(config, key);
  if (value === undefined) throw new OptimizeError(`config.json has no number "${key}"`);
  return value;
}

function activationOf(config: Record<string, unknown>, modelType: string): Activation {
  // Gemma runs the tanh approximation whatever hidden_act says (transformers' GemmaMLP).
  const name = String(config.hidden_activation ?? (modelType === 'gemma' ? 'gelu_pytorch_tanh' : config.hidden_act ?? 'silu'));
  if (name === 'silu' || name === 'swish') return 'silu';
  if (name === 'gelu_pytorch_tanh' || name === 'gelu_new' || name === 'gelu_fast') return 'gelu_tanh';
  throw new OptimizeError(`activation "${name}" is not supported by the slot-cache graph (silu or gelu_pytorch_tanh)`);
}

/** transformers' rope init functions: default, linear and llama3 (others are refused). */
export function rotaryInvFreq(config: Record<string, unknown>, headDim: number): Float32Array {
  const base = num(config, 'rope_theta') ?? 10000;
  const partial = num(config, 'partial_rotary_factor') ?? 1;
  if (partial !== 1) throw new OptimizeError(`partial_rotary_factor ${partial} is not supported (only full rotary embeddings)`);
  const invFreq = new Float32Array(headDim / 2);
  for (let i = 0; i < invFreq.length; i++) invFreq[i] = 1 / base ** (Math.fround((2 * i) / headDim));
  const scaling = config.rope_scaling as Record<string, unknown> | null | undefined;
  const type = String(scaling?.rope_type ?? scaling?.type ?? 'default');
  if (!scaling || type === 'default') return invFreq;
  const factor = Number(scaling.factor);
  if (type === 'linear') return invFreq.map((f) => f / factor);
  if (type === 'llama3') {
    const low = Number(scaling.low_freq_factor);
    const high = Number(scaling.high_freq_factor);
    const context = Number(scaling.original_max_position_embeddings);
    const lowWavelen = context / low;
    const highWavelen = context / high;
    return invFreq.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / factor;
      const smooth = (context / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
  }
  throw new OptimizeError(`rope_scaling type "${type}" is not supported (default, linear or llama3)`);
}

export function readDecoderConfig(config: Record<string, unknown>): DecoderConfig {
  const modelType = String(config.model_type ?? '');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new OptimizeError(
      `model_type "${modelType || '(none)'}" is not supported by the slot-cache converter (it converts ${SUPPORTED_MODEL_TYPES.join(', ')})`,
    );
  }
  const hidden = required(config, 'hidden_size');
  const heads = required(config, 'num_attention_heads');
  const headDim = num(config, 'head_dim') ?? hidden / heads;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new OptimizeError(`head_dim ${headDim} is not an even integer`);
  const slidingWindow =
    modelType === 'qwen2' ? (config.use_sliding_window ? num(config, 'sliding_window') : undefined) : num(config, 'sliding_window');
  return {
    modelType,
    hidden,
    heads,
    kvHeads: num(config, 'num_key_value_heads') ?? heads,
    headDim,
    intermediate: required(config, 'intermediate_size'),
    vocab: required(config, 'vocab_size'),
    layers: required(config, 'num_hidden_layers'),
    eps: num(config, 'rms_norm_eps') ?? 1e-6,
    activation: activationOf(config, modelType),
    invFreq: rotaryInvFreq(config, headDim),
    ...(slidingWindow !== undefined ? { slidingWindow } : {}),
  };
}
