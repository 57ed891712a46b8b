/**
 * 👍/👎 buttons under a rateable reply, and the short form (a modal) that asks why after a 👎.
 * The turn id and rating ride in the components' custom ids, so a click needs no lookup here.
 */
import { ActionRowBuilder, ButtonBuilder, ButtonStyle, LabelBuilder, ModalBuilder, TextInputBuilder, TextInputStyle } from 'discord.js';
import type { Rating } from '../../core/index.js';

const BUTTON = /^banter:rate:(up|down):([\w-]{1,64})$/;
const FORM = /^banter:why:(up|down):([\w-]{1,64})$/;
/** The form's text field. */
export const REASON_FIELD = 'reason';
const REASON_MAX = 500;

export interface FeedbackTarget {
  rating: Rating;
  turnId: string;
}

export function feedbackButtons(turnId: string): ActionRowBuilder<ButtonBuilder> {
  const button = (rating: Rating, emoji: string, label: string) =>
    new ButtonBuilder().setCustomId(`banter:rate:${rating}:${turnId}`).setEmoji(emoji).setStyle(ButtonStyle.Secondary).setLabel(label);
  return new ActionRowBuilder<ButtonBuilder>().addComponents(button('up', '👍', 'Good'), button('down', '👎', 'Bad'));
}

export function parseFeedbackButton(customId: string): FeedbackTarget | undefined {
  const match = BUTTON.exec(customId);
  return match ? { rating: match[1] as Rating, turnId: match[2] } : undefined;
}

export function reasonForm({ rating, turnId }: FeedbackTarget): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`banter:why:${rating}:${turnId}`)
    .setTitle('Thanks! Anything to add?')
    .addLabelComponents(
      new LabelBuilder()
        .setLabel('What was wrong with the reply? (optional)')
        .setTextInputComponent(new TextInputBuilder().setCustomId(REASON_FIELD).setStyle(TextInputStyle.Paragraph).setRequired(false).setMaxLength(REASON_MAX)),
    );
}

export function parseReasonForm(customId: string): FeedbackTarget | undefined {
  const match = FORM.exec(customId);
  return match ? { rating: match[1] as Rating, turnId: match[2] } : undefined;
}
