/**
 * `sqlite://PATH` and `file://PATH`: conversations in an embedded SQLite database (better-sqlite3).
 * Each save is one transaction in write-ahead-log mode with `synchronous = FULL`, so a save that
 * resolved survives kill -9 and power loss, and a save cut off leaves the previous state whole.
 *
 * `file://` URLs name the JSON file older banter versions rewrote on every save (keyv-file): the
 * database is kept beside it (`history.json` -> `history.sqlite`), and the JSON's conversations are
 * imported into it once, in one transaction, the first time the database is opened.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Conversation } from '../types.js';
import { checkConversation, HISTORY_NAMESPACE, InFlight } from './common.js';
import type { HistoryStore } from './store.js';

/** Expired claims are swept at most this often. */
const SWEEP_INTERVAL_MS = 60_000;

export function openSqliteStore(path: string, baseDir: string): HistoryStore {
  return new SqliteHistoryStore(storePath(path, baseDir, 'sqlite'));
}

export function openFileStore(path: string, baseDir: string): HistoryStore {
  const given = storePath(path, baseDir, 'file');
  if (extname(given).toLowerCase() !== '.json') return new SqliteHistoryStore(given);
  const store = new SqliteHistoryStore(given.slice(0, -'.json'.length) + '.sqlite');
  store.importJsonOnce(given);
  return store;
}

/** The file a `sqlite://` or `file://` URL's path names, relative to `baseDir`. */
export function storePath(path: string, baseDir: string, scheme: string, what = 'history'): string {
  if (!path) throw new Error(`${what} store ${scheme}://: expected a file path after ${scheme}://, e.g. ${scheme}://.banter/${what}.sqlite`);
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/**
 * Opens (creating) a SQLite database for a store: write-ahead log with `synchronous = FULL`, so a
 * write that returned survives kill -9 and power loss; `schema` creates its tables.
 */
export function openStoreDatabase(file: string, schema: string, what: string): Database.Database {
  try {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(schema);
    return db;
  } catch (error) {
    throw new Error(`cannot open the ${what} database ${file}: ${(error as Error).message}`, { cause: error });
  }
}

class SqliteHistoryStore implements HistoryStore {
  private readonly db: Database.Database;
  private readonly inFlight = new InFlight();
  private readonly statements: Record<'load' | 'save' | 'delete' | 'claim' | 'sweep', Database.Statement>;
  private lastSweep = 0;

  constructor(readonly file: string) {
    this.db = openStoreDatabase(
      file,
      `
        CREATE TABLE IF NOT EXISTS conversations (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS claims (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS imports (source TEXT PRIMARY KEY, conversations INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
      `,
      'history',
    );
    this.statements = {
      load: this.db.prepare('SELECT value FROM conversations WHERE key = ?'),
      save: this.db.prepare('INSERT INTO conversations (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
      delete: this.db.prepare('DELETE FROM conversations WHERE key = ?'),
      // A row still unexpired keeps its claim; an expired one is taken over.
      claim: this.db.prepare(
        'INSERT INTO claims (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at WHERE claims.expires_at <= ?',
      ),
      sweep: this.db.prepare('DELETE FROM claims WHERE expires_at <= ?'),
    };
  }

  load(key: string): Promise<Conversation | undefined> {
    return this.inFlight.run(async () => {
      const row = this.statements.load.get(key) as { value: string } | undefined;
      return row === undefined ? undefined : checkConversation(JSON.parse(row.value), key);
    });
  }

  save(conversation: Conversation): Promise<void> {
    return this.inFlight.run(async () => void this.statements.save.run(conversation.key, JSON.stringify(conversation)));
  }

  delete(key: string): Promise<void> {
    return this.inFlight.run(async () => void this.statements.delete.run(key));
  }

  claim(id: string, ttlMs: number): Promise<boolean> {
    return this.inFlight.run(async () => {
      const now = Date.now();
      if (now - this.lastSweep > SWEEP_INTERVAL_MS) {
        this.lastSweep = now;
        this.statements.sweep.run(now);
      }
      return this.statements.claim.run(id, now + ttlMs, now).changes === 1;
    });
  }

  async close(): Promise<void> {
    if (await this.inFlight.close()) this.db.close();
  }

  /** Imports an old keyv-file JSON history once; a file that does not parse is refused, never overwritten. */
  importJsonOnce(jsonFile: string): void {
    if (!existsSync(jsonFile)) return;
    if (this.db.prepare('SELECT 1 FROM imports WHERE source = ?').get(jsonFile)) return;
    let conversations: Conversation[];
    try {
      conversations = readKeyvFile(readFileSync(jsonFile, 'utf8'));
    } catch (error) {
      this.db.close();
      throw new Error(`history file ${jsonFile} is not valid JSON (${(error as Error).message}); move it away or fix it`, { cause: error });
    }
    this.db.transaction(() => {
      for (const conversation of conversations) this.statements.save.run(conversation.key, JSON.stringify(conversation));
      this.db.prepare('INSERT INTO imports (source, conversations, at) VALUES (?, ?, ?)').run(jsonFile, conversations.length, Date.now());
    })();
  }
}

/** keyv-file's layout: `{"cache": [["banter:KEY", {"value": "{\"value\": CONVERSATION}"}], ...]}`. */
function readKeyvFile(text: string): Conversation[] {
  const data = JSON.parse(text) as { cache?: unknown };
  if (!Array.isArray(data.cache)) throw new Error('no "cache" list of keyv-file entries');
  const prefix = `${HISTORY_NAMESPACE}:`;
  const conversations: Conversation[] = [];
  for (const entry of data.cache as [string, { value?: unknown; expire?: number }][]) {
    const [name, record] = entry;
    if (typeof name !== 'string' || !name.startsWith(prefix) || !record) continue;
    if (typeof record.expire === 'number' && record.expire <= Date.now()) continue;
    const wrapped = typeof record.value === 'string' ? (JSON.parse(record.value) as { value?: unknown }) : (record.value as { value?: unknown });
    conversations.push(checkConversation(wrapped?.value, name.slice(prefix.length)));
  }
  return conversations;
}
