import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildQuery } from '../../plugins/grounding/query.js';
import { sentences } from '../../plugins/grounding/text.js';
import { KnowledgeIndex } from '../../plugins/grounding/retriever.js';
import { KnowledgeSourceError, chunk, listSourceFiles, readPassages } from '../../plugins/grounding/sources.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'banter-knowledge-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const noRewrite = { add: [], synonyms: {} };
const query = (text: string) => buildQuery(text, [], noRewrite, { context: 0.3, framing: 0.2 });

describe('knowledge sources', () => {
  it('reads Markdown front matter, one passage group per section, with per-section source URLs', async () => {
    const file = join(dir, 'owls.md');
    await writeFile(
      file,
      '---\ntitle: Owls\nurl: https://example.org/owls\n---\n\nOwls hunt at night.\n\n## Eyes\nSource: https://example.org/owls#eyes\n\nOwl eyes are tube shaped and cannot move in their sockets.\n\n## Hearing\n\nSome owls locate prey by sound alone.\n',
    );
    const passages = await readPassages(file, 600);
    expect(passages.map((p) => [p.title, p.url, p.text])).toEqual([
      ['Owls', 'https://example.org/owls', 'Owls hunt at night.'],
      ['Owls: Eyes', 'https://example.org/owls#eyes', 'Owl eyes are tube shaped and cannot move in their sockets.'],
      ['Owls: Hearing', 'https://example.org/owls', 'Some owls locate prey by sound alone.'],
    ]);
  });

  it('reads a Markdown heading with a Source line as title and URL', async () => {
    const file = join(dir, 'bees.md');
    await writeFile(file, '# Bees\nSource: https://example.org/bees\n\nBees dance to show where flowers are.\n');
    expect(await readPassages(file, 600)).toMatchObject([{ title: 'Bees', url: 'https://example.org/bees', text: 'Bees dance to show where flowers are.' }]);
  });

  it('reads JSON arrays and JSONL lines, with text, content or body', async () => {
    const json = join(dir, 'a.json');
    const jsonl = join(dir, 'b.jsonl');
    await writeFile(json, JSON.stringify([{ title: 'A', url: 'https://a.example', content: 'Alpha text.' }]));
    await writeFile(jsonl, `${JSON.stringify({ title: 'B', url: 'https://b.example', text: 'Beta text.' })}\n\n${JSON.stringify({ title: 'C', url: 'https://c.example', body: 'Gamma.' })}\n`);
    expect((await readPassages(json, 600)).map((p) => p.text)).toEqual(['Alpha text.']);
    expect((await readPassages(jsonl, 600)).map((p) => `${p.title}=${p.text}`)).toEqual(['B=Beta text.', 'C=Gamma.']);
  });

  it('rejects a document without a URL or title, naming the file and the place', async () => {
    const md = join(dir, 'no-url.md');
    await writeFile(md, '# Untitled facts\n\nNo source here.\n');
    await expect(readPassages(md, 600)).rejects.toThrow(`${md}: Markdown document needs a URL`);
    const jsonl = join(dir, 'bad.jsonl');
    await writeFile(jsonl, `${JSON.stringify({ title: 'ok', url: 'https://x.example', text: 'fine' })}\n${JSON.stringify({ url: 'https://y.example', text: 'no title' })}\n`);
    const error = await readPassages(jsonl, 600).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KnowledgeSourceError);
    expect((error as Error).message).toBe(`${jsonl}: line 2: "title" must be a non-empty string`);
  });

  it('rejects a missing source path and an unsupported file type', async () => {
    await expect(listSourceFiles([join(dir, 'nope')])).rejects.toThrow(/nope: knowledge source not found/);
    const pdf = join(dir, 'paper.pdf');
    await writeFile(pdf, '%PDF');
    await expect(listSourceFiles([pdf])).rejects.toThrow(/paper\.pdf: unsupported knowledge file type/);
  });

  it('chunks long paragraphs between sentences, within the size limit', () => {
    const sentence = 'The summit is 8,848.86 m high and very windy indeed.';
    const text = `${Array.from({ length: 6 }, () => sentence).join(' ')}\n\nShort one.`;
    const pieces = chunk(text, 120);
    expect(pieces.every((piece) => piece.length <= 120)).toBe(true);
    expect(pieces.join(' ')).toBe(`${Array.from({ length: 6 }, () => sentence).join(' ')} Short one.`);
    // Two 52-character sentences fit in 120; the short paragraph joins the last chunk.
    expect(pieces.length).toBe(3);
    expect(pieces.every((piece) => piece.startsWith('The summit'))).toBe(true);
  });
});

describe('knowledge index cache', () => {
  it('is reused while files are unchanged and rebuilt when one changes', async () => {
    const source = join(dir, 'docs');
    const cacheDir = join(dir, 'cache');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(source);
    const file = join(source, 'facts.jsonl');
    await writeFile(file, `${JSON.stringify({ title: 'Glaciers', url: 'https://g.example', text: 'Glaciers are rivers of ice.' })}\n`);

    const first = await KnowledgeIndex.open([source], { cacheDir, maxPassageChars: 600 });
    expect(first.fromCache).toBe(false);
    const second = await KnowledgeIndex.open([source], { cacheDir, maxPassageChars: 600 });
    expect(second.fromCache).toBe(true);
    expect(second.search(query('tell me about glaciers'), 3).map((hit) => hit.passage.title)).toEqual(['Glaciers']);

    await writeFile(file, `${JSON.stringify({ title: 'Volcanoes', url: 'https://v.example', text: 'Volcanoes erupt molten rock called lava.' })}\n`);
    // Same size or same second must not hide a change: bump the mtime explicitly.
    const later = new Date(Date.now() + 5_000);
    await utimes(file, later, later);
    const third = await KnowledgeIndex.open([source], { cacheDir, maxPassageChars: 600 });
    expect(third.fromCache).toBe(false);
    expect(third.search(query('what is lava?'), 3).map((hit) => hit.passage.title)).toEqual(['Volcanoes']);
    expect(third.search(query('tell me about glaciers'), 3)).toEqual([]);

    // A new file in the folder also invalidates the cache.
    await writeFile(join(source, 'more.md'), '# Tides\nSource: https://t.example\n\nThe moon pulls the tides.\n');
    const fourth = await KnowledgeIndex.open([source], { cacheDir, maxPassageChars: 600 });
    expect(fourth.fromCache).toBe(false);
    expect(fourth.size).toBe(2);
  });

  it('ranks the passage covering more of the question first', async () => {
    const file = join(dir, 'facts.json');
    await writeFile(
      file,
      JSON.stringify([
        { title: 'Height', url: 'https://h.example', text: 'The summit height is 8,848.86 metres.' },
        { title: 'Summit weather', url: 'https://w.example', text: 'The summit is windy and cold; summit winds are strong at the summit.' },
      ]),
    );
    const index = await KnowledgeIndex.open([file], { maxPassageChars: 600 });
    const [best] = index.search(query('what is the summit height?'), 2);
    expect(best.passage.title).toBe('Height');
    expect(best.coverage).toBe(1);
  });
});

describe('sentences', () => {
  it('splits at sentence ends but not at decimals, initials or titles', () => {
    expect(sentences('B.B. King played Lucille. The summit is 8,848.86 m high! Try "Mrs. Robinson" by Simon and Garfunkel. Then Sgt. Pepper.')).toEqual([
      'B.B. King played Lucille.',
      'The summit is 8,848.86 m high!',
      'Try "Mrs. Robinson" by Simon and Garfunkel.',
      'Then Sgt. Pepper.',
    ]);
  });
});

describe('knowledge index cache that cannot be written', () => {
  it('reports the error to the caller and still serves the index', async () => {
    const file = join(dir, 'facts.json');
    await writeFile(file, JSON.stringify([{ title: 'Comets', url: 'https://c.example', text: 'Comets grow tails near the sun.' }]));
    // A file where the cache folder should be: mkdir fails with EEXIST/ENOTDIR.
    const blocked = join(dir, 'blocked');
    await writeFile(blocked, 'not a folder');
    await expect(KnowledgeIndex.open([file], { cacheDir: join(blocked, 'cache'), maxPassageChars: 600 })).rejects.toThrow(/ENOTDIR|EEXIST/);
    const reported: unknown[] = [];
    const index = await KnowledgeIndex.open([file], { cacheDir: join(blocked, 'cache'), maxPassageChars: 600, onCacheWriteError: (error) => reported.push(error) });
    expect(reported).toHaveLength(1);
    expect(index.search(query('why do comets have tails?'), 1).map((hit) => hit.passage.title)).toEqual(['Comets']);
  });
});
