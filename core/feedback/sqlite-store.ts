/**
 * `sqlite://PATH` and `file://PATH`: feedback in a SQLite database (better-sqlite3), opened as the
 * history store opens its own (write-ahead log, `synchronous = FULL`). With the default URL (the
 * history store's) it is the same file, in tables of its own. Expired rows are never read and are
 * swept on writes, at most once a minute.
 */
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import type Database from 'better-sqlite3';
import { InFlight } from '../history/common.js';
import { openStoreDatabase, storePath } from '../history/sqlite-store.js';
import { feedbackId, type FeedbackStore } from './store.js';
import type { FeedbackEntry, TurnRecord } from './types.js';

const SWEEP_INTERVAL_MS = 60_000;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS feedback_turns (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS feedback (id TEXT PRIMARY KEY, value TEXT NOT NULL, at INTEGER NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS feedback_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
`;

export function openSqliteFeedbackStore(path: string, baseDir: string, scheme: 'sqlite' | 'file'): FeedbackStore {
  const given = storePath(path, baseDir, scheme, 'feedback');
  // As for history: a file:// URL naming a .json file means the database beside it.
  const file = scheme === 'file' && extname(given).toLowerCase() === '.json' ? `${given.slice(0, -'.json'.length)}.sqlite` : given;
  return new SqliteFeedbackStore(openStoreDatabase(file, SCHEMA, 'feedback'));
}

class SqliteFeedbackStore implements FeedbackStore {
  private readonly inFlight = new InFlight();
  private readonly statements: Record<'putTurn' | 'turn' | 'putFeedback' | 'feedback' | 'sweepTurns' | 'sweepFeedback' | 'secret' | 'newSecret', Database.Statement>;
  private lastSweep = 0;

  constructor(private readonly db: Database.Database) {
    const upsert = (table: string, columns: string[]) =>
      db.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT (id) DO UPDATE SET ${columns.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`);
    this.statements = {
      putTurn: upsert('feedback_turns', ['id', 'value', 'expires_at']),
      turn: db.prepare('SELECT value FROM feedback_turns WHERE id = ? AND expires_at > ?'),
      putFeedback: upsert('feedback', ['id', 'value', 'at', 'expires_at']),
      feedback: db.prepare('SELECT value FROM feedback WHERE expires_at > ? ORDER BY at, id'),
      sweepTurns: db.prepare('DELETE FROM feedback_turns WHERE expires_at <= ?'),
      sweepFeedback: db.prepare('DELETE FROM feedback WHERE expires_at <= ?'),
      secret: db.prepare("SELECT value FROM feedback_meta WHERE key = 'secret'"),
      newSecret: db.prepare("INSERT INTO feedback_meta (key, value) VALUES ('secret', ?) ON CONFLICT (key) DO NOTHING"),
    };
  }

  putTurn(record: TurnRecord, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => {
      this.sweep();
      this.statements.putTurn.run(record.turnId, JSON.stringify(record), Date.now() + ttlMs);
    });
  }

  turn(turnId: string): Promise<TurnRecord | undefined> {
    return this.inFlight.run(async () => {
      const row = this.statements.turn.get(turnId, Date.now()) as { value: string } | undefined;
      return row && (JSON.parse(row.value) as TurnRecord);
    });
  }

  putFeedback(entry: FeedbackEntry, ttlMs: number): Promise<void> {
    return this.inFlight.run(async () => {
      this.sweep();
      this.statements.putFeedback.run(feedbackId(entry.turnId, entry.user), JSON.stringify(entry), entry.at, Date.now() + ttlMs);
    });
  }

  feedback(): Promise<FeedbackEntry[]> {
    return this.inFlight.run(async () => (this.statements.feedback.all(Date.now()) as { value: string }[]).map((row) => JSON.parse(row.value) as FeedbackEntry));
  }

  secret(): Promise<string> {
    return this.inFlight.run(async () => {
      // Whichever process inserts first wins; every one reads that key back.
      this.statements.newSecret.run(randomBytes(32).toString('base64url'));
      return (this.statements.secret.get() as { value: string }).value;
    });
  }

  async close(): Promise<void> {
    if (await this.inFlight.close()) this.db.close();
  }

  private sweep(): void {
    const now = Date.now();
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    this.statements.sweepTurns.run(now);
    this.statements.sweepFeedback.run(now);
  }
}
