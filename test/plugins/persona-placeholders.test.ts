import { describe, expect, it } from 'vitest';
import { findPlaceholder } from '../../plugins/persona/placeholders.js';

describe('template placeholders in replies', () => {
  it('finds every form the training data had', () => {
    for (const [reply, found] of [
      ["Hi, I'm user1.", 'user1'],
      ['My name is User 2.', 'User 2'],
      ["My name is (user 1's name).", "(user 1's name)"],
      ['Nice to meet you, [name]!', '[name]'],
      ['Hey <your name>, how are you?', '<your name>'],
      ['I live in [country].', '[country]'],
    ]) {
      expect(findPlaceholder(reply), reply).toBe(found);
    }
  });

  it('leaves ordinary replies alone', () => {
    for (const reply of ['My name is banter.', 'I love the user interface (the name is odd).', 'My username is long.', 'I was the first user to try it.']) {
      expect(findPlaceholder(reply), reply).toBeUndefined();
    }
  });
});
