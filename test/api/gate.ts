import type { Plugin } from '../../core/index.js';

/** A plugin whose prompt hook holds turns whose text is `hold` until `open()`; `reached` resolves when one arrives. */
export function gate(): { plugin: Plugin; open: () => void; reached: Promise<void> } {
  let open!: () => void;
  let reached!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
  const plugin: Plugin = {
    name: 'gate',
    async prompt(turn) {
      if (turn.message.text !== 'hold') return;
      reached();
      await opened;
    },
  };
  return { plugin, open, reached: reachedPromise };
}
