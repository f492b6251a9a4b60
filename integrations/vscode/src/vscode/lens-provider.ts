/**
 * CodeLens above traced functions: asks the collector for the file's per-function statistics
 * (core/api-client.ts `codeMethods`, path from core/path-mapping.ts) and places them with
 * core/code-lens.ts. Answers are cached per file for a minute (core/answer-cache.ts).
 */
import * as vscode from 'vscode';
import { AnswerCache } from '../core/answer-cache.js';
import type { CodeMethodsAnswer } from '../core/api-client.js';
import { placeLenses } from '../core/code-lens.js';
import { requestPathFor } from '../core/path-mapping.js';
import type { Connection } from './connection.js';

const CACHE_TTL_MS = 60_000;
/** Past this many lines (generated or minified files) no lenses: placing them reads every line. */
const MAX_LINES = 50_000;
const CACHE_ENTRIES = 200;

export class TracedFunctionLenses implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly cache = new AnswerCache<CodeMethodsAnswer>(CACHE_TTL_MS, CACHE_ENTRIES);
  /** One failure message per failing collector state, not one per file. */
  private lastError = '';

  constructor(
    private readonly connection: Connection,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  refresh(): void {
    this.cache.clear();
    this.lastError = '';
    this.changed.fire();
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    const settings = vscode.workspace.getConfiguration('flowtrace');
    if (!settings.get<boolean>('codeLens.enabled', true) || document.uri.scheme !== 'file' || document.lineCount > MAX_LINES) return [];
    const lookback = settings.get<string>('codeLens.lookback', '1h');
    const service = settings.get<string>('service', '').trim();
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const path = requestPathFor(document.uri.fsPath, folders);
    let answer: CodeMethodsAnswer;
    try {
      const client = await this.connection.client();
      answer = await this.cache.get(`${client.origin}\u0000${path}\u0000${lookback}\u0000${service}`, () => client.codeMethods({ path, lookback, service: service || undefined }));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (message !== this.lastError) this.log.warn(`CodeLens: ${message}`);
      this.lastError = message;
      return [];
    }
    const lines = Array.from({ length: document.lineCount }, (_, i) => document.lineAt(i).text);
    const { lenses } = placeLenses(answer.methods, lines, lookback);
    return lenses.map(
      (lens) =>
        new vscode.CodeLens(new vscode.Range(lens.line, 0, lens.line, 0), {
          title: lens.text,
          tooltip: lens.tooltip,
          command: lens.slowestTraceId ? 'flowtrace.openTrace' : '',
          arguments: lens.slowestTraceId ? [lens.slowestTraceId] : undefined,
        }),
    );
  }
}
