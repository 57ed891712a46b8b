/**
 * Template slots that leak from generated training data ("Hi, I'm user1.", "My name is (user 1's
 * name).", "Nice to meet you, [name]!"). tools/data/placeholders.py cleans them out of the data;
 * this is the safety net for models trained before that, or on other data: a reply with one says
 * nothing true about the bot, so the persona filter rejects it.
 */
const PLACEHOLDER = new RegExp(
  [
    String.raw`\buser\s*_?[12]\b`, // "user1", "User 2", "user_1"
    String.raw`[[(<{]\s*(?:user\s*_?\d+(?:'s)?\s*)?(?:(?:your|their|my|insert)\s+)?(?:user\s*)?name\s*[\])>}]`, // "(name)", "[user 1's name]", "<your name>"
    String.raw`\[[a-z_' ]{1,30}\]`, // "[country]", "[user1_job]"
  ].join('|'),
  'i',
);

/** The first placeholder in `text`, or undefined. */
export function findPlaceholder(text: string): string | undefined {
  return PLACEHOLDER.exec(text)?.[0];
}
