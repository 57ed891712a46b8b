/** The page's static files, read once at start and served from memory. */
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export interface Asset {
  body: Buffer;
  contentType: string;
}

const FILES: Record<string, { file: string; contentType: string }> = {
  '/': { file: 'index.html', contentType: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', contentType: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', contentType: 'text/css; charset=utf-8' },
};

/**
 * `public/` sits next to this module in the source tree; the TypeScript build does not copy it, so
 * from `dist/adapters/web/` it is found back in the package's `adapters/web/public/`.
 */
const CANDIDATE_DIRS = ['./public/', '../../../adapters/web/public/'];

export async function loadAssets(): Promise<Map<string, Asset>> {
  const dir = await findPublicDir();
  const assets = new Map<string, Asset>();
  for (const [route, { file, contentType }] of Object.entries(FILES)) {
    assets.set(route, { body: await readFile(new URL(file, dir)), contentType });
  }
  return assets;
}

async function findPublicDir(): Promise<URL> {
  for (const relative of CANDIDATE_DIRS) {
    const dir = new URL(relative, import.meta.url);
    const found = await stat(new URL('index.html', dir)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (found) return dir;
  }
  const tried = CANDIDATE_DIRS.map((relative) => fileURLToPath(new URL(relative, import.meta.url))).join(', ');
  throw new Error(`web adapter: the page's files are missing (looked in ${tried}); reinstall banter`);
}
