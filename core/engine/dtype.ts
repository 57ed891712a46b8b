/**
 * Model dtypes as transformers.js names them (one ONNX file per dtype: `model.onnx`,
 * `model_fp16.onnx`, `model_q4.onnx`, ...), and the float16 <-> float32 conversions that fp16
 * graphs need on the JavaScript side (Node 20 has no Float16Array: float16 data is a Uint16Array).
 */

export const MODEL_DTYPES = ['fp32', 'fp16', 'q8', 'int8', 'uint8', 'q4', 'q4f16', 'bnb4'] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/** File-name suffix of each dtype (transformers.js' DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const DTYPE_SUFFIX: Record<ModelDtype, string> = {
  fp32: '',
  fp16: '_fp16',
  q8: '_quantized',
  int8: '_int8',
  uint8: '_uint8',
  q4: '_q4',
  q4f16: '_q4f16',
  bnb4: '_bnb4',
};

/**
 * Which dtype `auto` picks when a folder has several: on the CPU full precision first, then the
 * quantized files (MatMulNBits and 8-bit kernels are fast there) and fp16 last (few fp16 CPU
 * kernels); on a GPU half precision first.
 */
export const AUTO_DTYPE_ORDER: Record<'cpu' | 'gpu', readonly ModelDtype[]> = {
  cpu: ['fp32', 'q8', 'q4', 'int8', 'uint8', 'fp16', 'q4f16', 'bnb4'],
  gpu: ['fp16', 'q4f16', 'fp32', 'q4', 'q8', 'int8', 'uint8', 'bnb4'],
};

/** The element type of a key/value cache or logits tensor. */
export type FloatType = 'float32' | 'float16';
export type FloatArray = Float32Array | Uint16Array;

export function floatArray(type: FloatType, length: number): FloatArray {
  return type === 'float16' ? new Uint16Array(length) : new Float32Array(length);
}

/** float16 bits -> float32, for all 65,536 patterns: one table lookup per value. */
const HALF_TO_FLOAT = (() => {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * 2 ** -14 * (fraction / 1024);
    else if (exponent === 31) table[bits] = fraction ? NaN : sign * Infinity;
    else table[bits] = sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
  }
  return table;
})();

/** float32 values -> float16 bits, rounding to nearest even. */
export function floatsToHalves(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = floatToHalf(values[i]);
  return out;
}

/** Widens float16 `half` into `target` (reused between steps by the caller). */
export function halfToFloat(half: Uint16Array, target: Float32Array = new Float32Array(half.length)): Float32Array {
  for (let i = 0; i < half.length; i++) target[i] = HALF_TO_FLOAT[half[i]];
  return target;
}

const scratch = new Float32Array(1);
const scratchBits = new Uint32Array(scratch.buffer);

/** float32 -> float16 bits, rounding to nearest even (tests and fixtures feed fp16 graphs with it). */
export function floatToHalf(value: number): number {
  scratch[0] = value;
  const bits = scratchBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const unbiased = exponent - 127 + 15;
  if (unbiased >= 31) return sign | 0x7c00;
  if (unbiased <= 0) {
    if (unbiased < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - unbiased;
    const half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    return sign | (half + (rest > midpoint || (rest === midpoint && half & 1) ? 1 : 0));
  }
  const half = (unbiased << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  return sign | (half + (rest > 0x1000 || (rest === 0x1000 && half & 1) ? 1 : 0));
}
