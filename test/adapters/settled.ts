/** Test helper: the core writes a turn's history only after the adapter delivered the reply. */
import type { BotHost, ConversationAddress, HistoryTurn } from '../../core/types.js';

/** The conversation's history once it holds at least `turns` turns (or as it is after 30 s). */
export async function settledHistory(bot: BotHost, address: ConversationAddress, turns: number): Promise<HistoryTurn[]> {
  const deadline = Date.now() + 30_000;
  let history = (await bot.conversation(address)).history;
  while (history.length < turns && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    history = (await bot.conversation(address)).history;
  }
  return history;
}
