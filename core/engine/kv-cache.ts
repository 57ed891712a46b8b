/** The key/value cache a decoder hands between steps, and the row moves that reorder its rows in place. */
import type { Tensor } from 'onnxruntime-node';
import type { FloatArray } from './dtype.js';

/**
 * Per layer key and value, each viewed as [batch, kvHeads, capacity, headDim]. Rows are sequences
 * of possibly different lengths (candidates of several turns decoding together):
 * - slot cache: row r holds its `lengths[r]` positions at slots [0, lengths[r]); the rest are free.
 *   The tensors are views of `buffers`, which may have room for more rows (`rowCapacity`).
 * - standard graph: every row ends at `capacity` (the graph appends at the end), so row r holds
 *   [capacity - lengths[r], capacity) and the positions before are masked padding.
 */
export interface KvCache {
  tensors: Tensor[];
  batch: number;
  capacity: number;
  lengths: number[];
  /** Slot cache only: the backing arrays of the tensors and how many rows they have room for. */
  buffers?: FloatArray[];
  rowCapacity?: number;
}

/** One row copy: a row index, or scratch slot k as -(k + 1). */
interface RowMove {
  from: number;
  to: number;
}

/**
 * Orders the row copies that make row i hold old row rows[i], each row read before it is
 * overwritten: a copy runs once its target is no longer needed as a source; a cycle (beams swapping
 * places) parks one row in a scratch slot first. Rows already in place cost nothing. Targets past
 * the old batch (a row expanded into several) are never sources, so they are filled first.
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
