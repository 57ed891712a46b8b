"""Unit tests of the placeholder cleaner: `python3 -m unittest discover -s tools/data -p 'test_*.py'`
(test/tools/data-converters.test.ts runs them in the vitest suite)."""
from __future__ import annotations

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from placeholders import clean_placeholders, count, has_unfillable_slot  # noqa: E402

NAMES = ["Alex", "Sam"]


class CleanPlaceholders(unittest.TestCase):
    def clean(self, text: str, speaker: int = 0) -> str:
        return clean_placeholders(text, NAMES, speaker)

    def test_numbered_name_slots_in_every_bracket_style(self):
        for text in ("I'm [user 1's name].", "I'm (user 1's name).", "I'm <user 1 name>.", "I'm {user1}.", "I'm (user_1)."):
            self.assertEqual(self.clean(text, 1), "I'm Alex.", text)

    def test_bare_speaker_labels_become_names(self):
        self.assertEqual(self.clean("Hi, I'm user2. Nice to meet you, User 1!", 1), "Hi, I'm Sam. Nice to meet you, Alex!")
        self.assertEqual(self.clean("My name is User 2.", 1), "My name is Sam.")

    def test_unnumbered_name_is_the_addressee_unless_a_self_introduction(self):
        self.assertEqual(self.clean("Nice to meet you, [name]!", 0), "Nice to meet you, Sam!")
        self.assertEqual(self.clean("Nice to meet you, (name)!", 1), "Nice to meet you, Alex!")
        self.assertEqual(self.clean("Hi, I'm (name).", 0), "Hi, I'm Alex.")
        self.assertEqual(self.clean("Hello, my name is <name>.", 1), "Hello, my name is Sam.")
        self.assertEqual(self.clean("Hey (insert name), how are you?", 0), "Hey Sam, how are you?")

    def test_stage_directions_and_asterisks_are_removed(self):
        self.assertEqual(self.clean("[user 1 and user 2 start flying.] Wow, look down!"), "Wow, look down!")
        self.assertEqual(self.clean("(user 1 looks for user 2.) There you are."), "There you are.")
        self.assertEqual(self.clean("Bye! *"), "Bye!")
        self.assertEqual(self.clean("*waves* Hi there!"), "Hi there!")

    def test_ordinary_parentheses_and_words_are_kept(self):
        for text in ("I love the NFL (American football).", "My username is long.", "I named my dog Rex.", "The user manual helps."):
            self.assertEqual(self.clean(text), text)

    def test_slots_without_a_good_filler_are_flagged(self):
        self.assertTrue(has_unfillable_slot("I'm from [country]."))
        self.assertTrue(has_unfillable_slot("I grew up in (user 1's hometown)."))
        self.assertTrue(has_unfillable_slot("I work as a [user1_job]."))
        self.assertFalse(has_unfillable_slot("Hi [user 2's name], I'm (name)."))
        self.assertFalse(has_unfillable_slot("[they walk together.] Nice park."))
        self.assertFalse(has_unfillable_slot("I love (American) football."))


class CountPlaceholders(unittest.TestCase):
    def test_counts_every_form_and_nothing_after_cleaning(self):
        raw = ["Hi, I'm (user 1's name).", "Hi [name], I'm user2!", "Call me <name>.", "Ok {your name}."]
        self.assertEqual(count(raw), 5)
        self.assertEqual(count([clean_placeholders(text, NAMES, 1) for text in raw]), 0)

    def test_ignores_pronunciations_and_trade_names(self):
        self.assertEqual(count(["Lego ([ˈleːɡo]) bricks", "acyclovir (trade name Zovirax)", "<|bot|>Hi"]), 0)


if __name__ == "__main__":
    unittest.main()
