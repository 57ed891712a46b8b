/**
 * A model folder's text side: its tokenizer, the prompt encoder it declares, its end and BOS tokens
 * and the ModelInfo fields that come from its configs. The local engine adds an ONNX session to it;
 * a remote engine needs nothing more of the folder.
 */
import { ModelFolderError } from './errors.js';
import type { ModelDescription } from './model-folder.js';
import { ChatTemplateEncoder, templateSpecialTokens } from './prompt/chat-template.js';
import { DialogueEncoder, dialoGptFormat } from './prompt/dialogue-format.js';
import type { ChatMessage, EncodedPrompt, PromptEncoder, TurnText } from './prompt/types.js';
import { HfTextTokenizer } from './tokenizer.js';
import type { DialogueFormat, ModelInfo, TextTokenizer } from './types.js';
import type { PromptParts } from '../types.js';

export interface ModelText {
  tokenizer: HfTextTokenizer;
  prompt: PromptEncoder;
  /** The folder's dialogue_format.json (or DialoGPT's), for models without a chat template. */
  format?: DialogueFormat;
  /** ModelInfo as the folder's configs give it; the engine fills in where and how it runs. */
  info: Omit<ModelInfo, 'dtype' | 'file'>;
}

/** The prompt encoder a folder declares: dialogue_format.json wins, then the chat template, then DialoGPT's format. */
function promptEncoderOf(folder: ModelDescription, tokenizer: HfTextTokenizer): { prompt: PromptEncoder; format?: DialogueFormat } {
  if (!folder.format && folder.chatTemplate) {
    const prompt = new ChatTemplateEncoder(folder.chatTemplate, tokenizer, templateSpecialTokens(folder.tokenizerConfig), folder.contextWindow);
    return { prompt };
  }
  const eosText = folder.endTokenIds.length > 0 ? tokenizer.tokenText(folder.endTokenIds[0]) : undefined;
  const format = folder.format ?? dialoGptFormat(eosText ?? '<|endoftext|>');
  return { prompt: new DialogueEncoder(format, tokenizer, folder.contextWindow), format };
}

export function loadModelText(folder: ModelDescription): ModelText {
  const tokenizer = new HfTextTokenizer(folder.tokenizerJson, folder.tokenizerConfig);
  const { prompt, format } = promptEncoderOf(folder, tokenizer);
  const endTokens = [...folder.endTokenIds];
  if (format) {
    const end = tokenizer.tokenId(format.end);
    if (end === undefined) throw new ModelFolderError(`the end token "${format.end}" of the dialogue format is not in tokenizer.json`, folder.path);
    if (!endTokens.includes(end)) endTokens.unshift(end);
  }
  if (endTokens.length === 0) {
    throw new ModelFolderError('no end token: config.json and generation_config.json have no eos_token_id', folder.path);
  }
  const info: ModelText['info'] = {
    name: folder.name,
    path: folder.path,
    modelType: folder.modelType,
    layers: folder.layers,
    heads: folder.heads,
    kvHeads: folder.kvHeads,
    headDim: folder.headDim,
    hidden: folder.hidden,
    vocabSize: folder.vocabSize,
    contextWindow: folder.contextWindow,
    endTokens,
    bosToken: folder.bosTokenId ?? endTokens[0],
    promptFormat: prompt.kind,
    generation: folder.generation,
  };
  return { tokenizer, prompt, format, info };
}

/** The half of a DialogueEngine that needs no model: the folder's tokenizer, format and prompt encoding (local and remote engines alike). */
export abstract class ModelTextEngine {
  readonly tokenizer: TextTokenizer;
  /** The folder's dialogue_format.json, for models that declare one (undefined with a chat template). */
  readonly format?: DialogueFormat;
  private readonly prompt: PromptEncoder;

  constructor(text: Pick<ModelText, 'tokenizer' | 'prompt' | 'format'>) {
    this.tokenizer = text.tokenizer;
    this.format = text.format;
    this.prompt = text.prompt;
  }

  get direction(): 'forward' | 'backward' {
    return this.prompt.direction;
  }

  encodeDialogue(parts: PromptParts, reserve: number): EncodedPrompt {
    return this.prompt.encodeDialogue(parts, reserve);
  }

  encodeTurns(turns: TurnText[]): number[] {
    return this.prompt.encodeTurns(turns);
  }

  encodeMessages(messages: ChatMessage[], options: { addGenerationPrompt: boolean }): number[] {
    return this.prompt.encodeMessages(messages, options);
  }
}
