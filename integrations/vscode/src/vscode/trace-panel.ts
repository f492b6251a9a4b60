/**
 * "FlowTrace: Open Trace Waterfall…" (or a CodeLens click, with the slowest call's trace): the trace's skeleton → core/waterfall.ts → core/webview-html.ts
 * in a webview with scripts on and no local resources; the page's one message (a span clicked)
 * is checked (core/webview-html.ts `isOpenSourceMessage`) and answered here by jumping to the
 * span's source line (core/source-location.ts, core/path-mapping.ts).
 */
import * as vscode from 'vscode';
import { parseTraceId } from '../core/api-client.js';
import { resolveSpanFile, type FileLookup } from '../core/path-mapping.js';
import { sourceLocationOf } from '../core/source-location.js';
import { waterfallModel } from '../core/waterfall.js';
import { notificationText } from '../core/notification-text.js';
import { isOpenSourceMessage, newNonce, waterfallHtml } from '../core/webview-html.js';
import type { Connection } from './connection.js';

const SEARCH_EXCLUDE = '**/{node_modules,target,dist,build,.git}/**';

/** With a trace ID (a CodeLens click) it opens that trace; without (the palette) it asks for one. */
export async function openTraceCommand(connection: Connection, log: vscode.LogOutputChannel, given?: unknown): Promise<void> {
  const input = typeof given === 'string' ? given : await vscode.window.showInputBox({
    title: 'FlowTrace: open a trace',
    prompt: 'Trace ID (32 hex digits)',
    ignoreFocusOut: true,
    validateInput: (text) => {
      try {
        parseTraceId(text);
        return undefined;
      } catch (err) {
        return err instanceof Error ? err.message : String(err);
      }
    },
  });
  if (input === undefined) return;
  try {
    const traceId = parseTraceId(input);
    const client = await connection.client();
    const model = waterfallModel(await client.skeleton(traceId));
    const panel = vscode.window.createWebviewPanel('flowtrace.trace', `Trace ${traceId.slice(0, 8)}…`, vscode.ViewColumn.Beside, {
      enableScripts: true,
      localResourceRoots: [],
      enableFindWidget: true,
    });
    panel.webview.html = waterfallHtml(model, { nonce: newNonce() });
    const spanIds = new Set(model.rows.map((r) => r.spanId).filter((id) => id !== ''));
    panel.webview.onDidReceiveMessage((message: unknown) => {
      if (isOpenSourceMessage(message, spanIds)) void openSpanSource(connection, traceId, message.spanId, log);
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.warn(`open trace: ${message}`);
    void vscode.window.showErrorMessage(notificationText(`FlowTrace: ${message}`));
  }
}

export async function openSpanSource(connection: Connection, traceId: string, spanId: string, log: vscode.LogOutputChannel): Promise<void> {
  try {
    const client = await connection.client();
    const { span } = await client.span(traceId, spanId);
    const location = sourceLocationOf(span.attributes);
    if (!location) {
      void vscode.window.showInformationMessage(notificationText(`FlowTrace: span "${span.name}" has no code.file.path (not a method span of a FlowTrace agent).`));
      return;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const found = await resolveSpanFile(location.filePath, folders, workspaceLookup);
    if (found.kind !== 'file') {
      const why = found.kind === 'ambiguous' ? `several files match: ${found.candidates.join(', ')}` : 'no such file in this workspace';
      void vscode.window.showWarningMessage(notificationText(`FlowTrace: ${location.filePath}: ${why}.`));
      return;
    }
    const document = await vscode.workspace.openTextDocument(vscode.Uri.file(found.path));
    const line = Math.min(Math.max((location.line ?? 1) - 1, 0), document.lineCount - 1);
    await vscode.window.showTextDocument(document, { selection: new vscode.Range(line, 0, line, 0), viewColumn: vscode.ViewColumn.One });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.warn(`open source of span ${spanId}: ${message}`);
    void vscode.window.showErrorMessage(notificationText(`FlowTrace: ${message}`));
  }
}

const workspaceLookup: FileLookup = {
  async exists(path) {
    try {
      const stat = await vscode.workspace.fs.stat(vscode.Uri.file(path));
      return (stat.type & vscode.FileType.File) !== 0;
    } catch {
      return false;
    }
  },
  async findBySuffix(suffix, max) {
    // A path with glob characters would be read as a pattern: not searched.
    if (/[*?[\]{}!]/.test(suffix)) return [];
    const uris = await vscode.workspace.findFiles(`**/${suffix}`, SEARCH_EXCLUDE, max);
    return uris.map((u) => u.fsPath);
  },
};
