/** The extension's entry point: wires the commands, the CodeLens provider and the connection. */
import * as vscode from 'vscode';
import { Connection } from './connection.js';
import { TracedFunctionLenses } from './lens-provider.js';
import { openTraceCommand } from './trace-panel.js';

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('FlowTrace', { log: true });
  const connection = new Connection(context.secrets);
  const lenses = new TracedFunctionLenses(connection, log);
  context.subscriptions.push(
    log,
    connection.watch(),
    connection.onDidChange(() => lenses.refresh()),
    vscode.languages.registerCodeLensProvider({ scheme: 'file' }, lenses),
    vscode.commands.registerCommand('flowtrace.connect', () => connection.connect()),
    vscode.commands.registerCommand('flowtrace.signOut', () => connection.signOut()),
    vscode.commands.registerCommand('flowtrace.openTrace', (traceId?: unknown) => openTraceCommand(connection, log, traceId)),
    vscode.commands.registerCommand('flowtrace.refreshLenses', () => lenses.refresh()),
  );
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
