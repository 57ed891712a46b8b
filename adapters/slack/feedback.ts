/**
 * Slack's feedback buttons under a rateable reply (a `context_actions` block, as Slack shows for
 * AI apps), and the modal that asks why after a 👎. The turn id rides in the buttons' values and in
 * the modal's private metadata, so a click or a submission needs no lookup here.
 */
import type { types } from '@slack/bolt';
import type { Rating } from '../../core/index.js';

export const FEEDBACK_ACTION = 'banter_feedback';
export const REASON_VIEW = 'banter_feedback_reason';
export const REASON_BLOCK = 'reason';
const VALUE = /^(up|down):([\w-]{1,64})$/;
/** Slack's limit on a section block's text. */
const SECTION_LIMIT = 3000;

export interface FeedbackTarget {
  rating: Rating;
  turnId: string;
}

/** What the reason modal carries through Slack: the rating it explains and where it was given. */
export interface ReasonMetadata extends FeedbackTarget {
  channel: string;
  thread?: string;
}

/** The reply as section blocks (Slack caps each at 3,000 characters) with the feedback buttons under it. */
export function replyBlocks(text: string, turnId: string): types.KnownBlock[] {
  const sections: types.KnownBlock[] = [];
  for (let start = 0; start < text.length; start += SECTION_LIMIT) {
    sections.push({ type: 'section', text: { type: 'mrkdwn', text: text.slice(start, start + SECTION_LIMIT) } });
  }
  return [...sections, feedbackBlock(turnId)];
}

/** The feedback buttons alone (under a message Slack streamed, whose text is already there). */
export function feedbackBlock(turnId: string): types.KnownBlock {
  return {
      type: 'context_actions',
      elements: [
        {
          type: 'feedback_buttons',
          action_id: FEEDBACK_ACTION,
          positive_button: { text: { type: 'plain_text', text: 'Good reply' }, accessibility_label: 'This reply was good', value: `up:${turnId}` },
          negative_button: { text: { type: 'plain_text', text: 'Bad reply' }, accessibility_label: 'This reply was bad', value: `down:${turnId}` },
        },
      ],
  };
}

export function parseFeedbackValue(value: string): FeedbackTarget | undefined {
  const match = VALUE.exec(value);
  return match ? { rating: match[1] as Rating, turnId: match[2] } : undefined;
}

export function reasonView(metadata: ReasonMetadata): types.ModalView {
  return {
    type: 'modal',
    callback_id: REASON_VIEW,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Thanks for the feedback' },
    submit: { type: 'plain_text', text: 'Send' },
    close: { type: 'plain_text', text: 'Skip' },
    blocks: [
      {
        type: 'input',
        block_id: REASON_BLOCK,
        optional: true,
        label: { type: 'plain_text', text: 'What was wrong with the reply?' },
        element: { type: 'plain_text_input', action_id: REASON_BLOCK, multiline: true, max_length: 500 },
      },
    ],
  };
}

export function parseReasonMetadata(text: string): ReasonMetadata | undefined {
  try {
    const value = JSON.parse(text) as Partial<ReasonMetadata>;
    const target = typeof value.rating === 'string' && typeof value.turnId === 'string' ? parseFeedbackValue(`${value.rating}:${value.turnId}`) : undefined;
    if (!target || typeof value.channel !== 'string' || (value.thread !== undefined && typeof value.thread !== 'string')) return undefined;
    return { ...target, channel: value.channel, ...(value.thread ? { thread: value.thread } : {}) };
  } catch {
    return undefined;
  }
}
