/**
 * The collector the extension talks to: its URL from the settings, its token from the editor's
 * secret storage (`context.secrets`, the OS keychain where there is one) — never from settings,
 * never logged. Thin adapter over core/api-client.ts.
 */
import * as vscode from 'vscode';
import { CollectorError, FlowTraceClient, parseCollectorUrl } from '../core/api-client.js';
import { notificationText } from '../core/notification-text.js';

const TOKEN_KEY = 'flowtrace.collectorToken';

export class Connection {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fired after connecting, signing out or a settings change: CodeLens asks again. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly secrets: vscode.SecretStorage) {}

  collectorUrl(): string {
    return vscode.workspace.getConfiguration('flowtrace').get<string>('collectorUrl', 'http://127.0.0.1:8686');
  }

  async client(): Promise<FlowTraceClient> {
    return new FlowTraceClient({ baseUrl: this.collectorUrl(), token: await this.secrets.get(TOKEN_KEY) });
  }

  /** Asks for the URL and the token (hidden input), checks them with /api/status, then keeps them. */
  async connect(): Promise<void> {
    const url = await vscode.window.showInputBox({
      title: 'FlowTrace: collector URL',
      value: this.collectorUrl(),
      prompt: 'The query API, e.g. http://127.0.0.1:8686',
      ignoreFocusOut: true,
      validateInput: (text) => {
        try {
          parseCollectorUrl(text);
          return undefined;
        } catch (err) {
          return err instanceof Error ? err.message : String(err);
        }
      },
    });
    if (url === undefined) return;
    const token = await vscode.window.showInputBox({
      title: 'FlowTrace: API token (read scope)',
      prompt: 'Stored in the editor\'s secret storage. Leave empty for a loopback collector that needs no token.',
      password: true,
      ignoreFocusOut: true,
    });
    if (token === undefined) return;
    const client = new FlowTraceClient({ baseUrl: url, token: token.trim() });
    try {
      const status = await client.status();
      if (!status.ready) void vscode.window.showWarningMessage(`FlowTrace: the collector at ${client.origin} is not ready yet.`);
    } catch (err) {
      void vscode.window.showErrorMessage(notificationText(`FlowTrace: ${err instanceof CollectorError ? err.message : 'the connection check failed'}`));
      return;
    }
    await vscode.workspace.getConfiguration('flowtrace').update('collectorUrl', parseCollectorUrl(url).href.replace(/\/$/, ''), vscode.ConfigurationTarget.Global);
    if (token.trim() === '') await this.secrets.delete(TOKEN_KEY);
    else await this.secrets.store(TOKEN_KEY, token.trim());
    void vscode.window.showInformationMessage(`FlowTrace: connected to ${client.origin}.`);
    this.changed.fire();
  }

  async signOut(): Promise<void> {
    await this.secrets.delete(TOKEN_KEY);
    this.changed.fire();
    void vscode.window.showInformationMessage('FlowTrace: the token was removed from the secret storage.');
  }

  /** Settings changes under `flowtrace.` also mean: ask again. */
  watch(): vscode.Disposable {
    return vscode.Disposable.from(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('flowtrace')) this.changed.fire();
      }),
      this.secrets.onDidChange((e) => {
        if (e.key === TOKEN_KEY) this.changed.fire();
      }),
    );
  }
}
