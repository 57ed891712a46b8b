/**
 * Knowledge sources: folders or files of Markdown, JSON and JSONL documents, each with a title and
 * a URL, cut into passages small enough to sit in the prompt's knowledge segment.
 *
 * Markdown: front matter (`title:`, `url:`) or a leading `# Title` with a `Source: URL` line; each
 * `## Section` becomes its own passage group and may carry its own `Source: URL` line below it.
 * JSON: an array of documents (or `{ "documents": [...] }`); JSONL: one document per line. A
 * document has `title`, `url` and `text` (or `content`/`body`).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { sentences } from './text.js';

export interface Passage {
  /** Stable id: source file + ordinal. */
  id: string;
  title: string;
  url: string;
  text: string;
  file: string;
}

export interface SourceFile {
  path: string;
  size: number;
  mtimeMs: number;
}

export class KnowledgeSourceError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'KnowledgeSourceError';
  }
}

const EXTENSIONS = new Set(['.md', '.markdown', '.json', '.jsonl']);

/** Every knowledge file under the given paths, sorted, with what the cache key needs. */
export async function listSourceFiles(paths: readonly string[]): Promise<SourceFile[]> {
  const found = new Map<string, SourceFile>();
  const visit = async (path: string, explicit: boolean): Promise<void> => {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      if (explicit) throw new KnowledgeSourceError(path, `knowledge source not found (${(error as Error).message})`);
      throw error;
    }
    if (info.isDirectory()) {
      const entries = await readdir(path);
      for (const entry of entries.sort()) {
        if (entry.startsWith('.')) continue;
        const child = join(path, entry);
        const childInfo = await stat(child);
        if (childInfo.isDirectory() || EXTENSIONS.has(extname(entry).toLowerCase())) await visit(child, false);
      }
      return;
    }
    if (!EXTENSIONS.has(extname(path).toLowerCase())) {
      throw new KnowledgeSourceError(path, `unsupported knowledge file type; use ${[...EXTENSIONS].join(', ')}`);
    }
    found.set(path, { path, size: info.size, mtimeMs: info.mtimeMs });
  };
  for (const path of paths) await visit(path, true);
  return [...found.values()].sort((a, b) => a.path.localeCompare(b.path));
}

interface RawDocument {
  title: string;
  url: string;
  text: string;
}

/** Reads and chunks one file into passages. */
export async function readPassages(file: string, maxChars: number): Promise<Passage[]> {
  const content = await readFile(file, 'utf8');
  const extension = extname(file).toLowerCase();
  const documents =
    extension === '.json' ? parseJsonDocuments(file, content) : extension === '.jsonl' ? parseJsonlDocuments(file, content) : parseMarkdown(file, content);
  const passages: Passage[] = [];
  for (const document of documents) {
    for (const text of chunk(document.text, maxChars)) {
      passages.push({ id: `${file}#${passages.length}`, title: document.title, url: document.url, text, file });
    }
  }
  return passages;
}

function documentFrom(file: string, where: string, value: unknown): RawDocument {
  if (typeof value !== 'object' || value === null) throw new KnowledgeSourceError(file, `${where}: expected an object with title, url and text`);
  const record = value as Record<string, unknown>;
  const text = record.text ?? record.content ?? record.body;
  for (const [field, fieldValue] of [['title', record.title], ['url', record.url], ['text', text]] as const) {
    if (typeof fieldValue !== 'string' || fieldValue.trim() === '') {
      throw new KnowledgeSourceError(file, `${where}: "${field}" must be a non-empty string`);
    }
  }
  return { title: (record.title as string).trim(), url: (record.url as string).trim(), text: (text as string).trim() };
}

function parseJsonDocuments(file: string, content: string): RawDocument[] {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (error) {
    throw new KnowledgeSourceError(file, `invalid JSON (${(error as Error).message})`);
  }
  const list = Array.isArray(value) ? value : (value as { documents?: unknown })?.documents;
  if (!Array.isArray(list)) throw new KnowledgeSourceError(file, 'expected an array of documents or { "documents": [...] }');
  return list.map((item, index) => documentFrom(file, `document ${index}`, item));
}

function parseJsonlDocuments(file: string, content: string): RawDocument[] {
  const documents: RawDocument[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new KnowledgeSourceError(file, `line ${index + 1}: invalid JSON (${(error as Error).message})`);
    }
    documents.push(documentFrom(file, `line ${index + 1}`, value));
  });
  return documents;
}

const SOURCE_LINE = /^(?:source|url):\s*(\S+)\s*$/i;

function parseMarkdown(file: string, content: string): RawDocument[] {
  let body = content.replace(/\r\n/g, '\n');
  let title: string | undefined;
  let url: string | undefined;
  const frontMatter = /^---\n([\s\S]*?)\n---\n?/.exec(body);
  if (frontMatter) {
    const meta = parseYaml(frontMatter[1]) as Record<string, unknown> | null;
    if (typeof meta?.title === 'string') title = meta.title;
    if (typeof meta?.url === 'string') url = meta.url;
    body = body.slice(frontMatter[0].length);
  }
  const lines = body.split('\n');
  const heading = lines.findIndex((line) => line.trim() !== '');
  if (heading >= 0 && /^#\s+/.test(lines[heading])) {
    title ??= lines[heading].replace(/^#\s+/, '').trim();
    lines.splice(heading, 1);
  }
  // A Source line before any section belongs to the document.
  const firstSection = lines.findIndex((line) => /^##\s+/.test(line));
  const preamble = firstSection < 0 ? lines : lines.slice(0, firstSection);
  const sourceIndex = preamble.findIndex((line) => SOURCE_LINE.test(line.trim()));
  if (sourceIndex >= 0) {
    url ??= SOURCE_LINE.exec(preamble[sourceIndex].trim())![1];
    lines.splice(sourceIndex, 1);
  }
  if (!title) throw new KnowledgeSourceError(file, 'Markdown document needs a title (front matter `title:` or a `# Title` heading)');
  if (!url) throw new KnowledgeSourceError(file, 'Markdown document needs a URL (front matter `url:` or a `Source: URL` line)');

  const documents: RawDocument[] = [];
  let current: { title: string; url: string; lines: string[] } = { title, url, lines: [] };
  const flush = (): void => {
    const text = current.lines.join('\n').trim();
    if (text) documents.push({ title: current.title, url: current.url, text });
  };
  for (const line of lines) {
    const section = /^##+\s+(.*)$/.exec(line);
    if (section) {
      flush();
      current = { title: `${title}: ${section[1].trim()}`, url, lines: [] };
      continue;
    }
    const source = SOURCE_LINE.exec(line.trim());
    if (source && current.lines.every((previous) => previous.trim() === '')) {
      current.url = source[1];
      continue;
    }
    current.lines.push(line);
  }
  flush();
  if (documents.length === 0) throw new KnowledgeSourceError(file, 'Markdown document has no text');
  return documents;
}

/** Paragraphs, packed up to `maxChars`; an over-long paragraph is cut between sentences. */
export function chunk(text: string, maxChars: number): string[] {
  const pieces = text
    .split(/\n\s*\n/)
    .map((paragraph) => paragraph.replace(/\s+/g, ' ').trim())
    .filter(Boolean)
    .flatMap((paragraph) => (paragraph.length <= maxChars ? [paragraph] : sentences(paragraph)));
  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current && current.length + 1 + piece.length > maxChars) {
      chunks.push(current);
      current = '';
    }
    current = current ? `${current} ${piece}` : piece;
  }
  if (current) chunks.push(current);
  return chunks;
}

