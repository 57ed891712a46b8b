/** The key/value cache a decoder hands between steps, and the row moves that reorder its rows in place. */
import type { Tensor } from 'onnxruntime-node';

/**
 * Per layer key and value, each [batch, heads, capacity, headDim] float32, of which the first
 * `length` positions are filled. Standard graphs return caches with capacity = length; the slot-cache
 * graph's caches are buffers with room for the tokens still to come.
 */
export interface KvCache {
  tensors: Tensor[];
  batch: number;
  length: number;
  capacity: number;
}

/** One row copy: a row index, or scratch slot k as -(k + 1). */
interface RowMove {
  from: number;
  to: number;
}

/**
 * Orders the row copies that make row i hold old row rows[i] (rows no longer than the batch), each
 * row read before it is overwritten: a copy runs once its target is no longer needed as a source;
 * a cycle (beams swapping places) parks one row in a scratch slot first. Rows already in place cost
 * nothing.
 */
export function planRowMoves(rows: readonly number[]): RowMove[] {
  const pending = new Map<number, number>();
  rows.forEach((source, target) => {
    if (source !== target) pending.set(target, source);
  });
  const readers = new Map<number, number>();
  for (const source of pending.values()) readers.set(source, (readers.get(source) ?? 0) + 1);
  const plan: RowMove[] = [];
  let slots = 0;
  while (pending.size > 0) {
    let progressed = false;
    for (const [target, source] of pending) {
      if ((readers.get(target) ?? 0) > 0) continue;
      plan.push({ from: source, to: target });
      pending.delete(target);
      readers.set(source, readers.get(source)! - 1);
      progressed = true;
    }
    if (progressed) continue;
    // Only cycles are left: park one of their rows and let its readers take it from the scratch slot.
    const parked = pending.keys().next().value!;
    const slot = -(++slots);
    plan.push({ from: parked, to: slot });
    for (const [target, source] of pending) if (source === parked) pending.set(target, slot);
    readers.set(parked, 0);
  }
  return plan;
}
