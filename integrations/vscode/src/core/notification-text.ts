/**
 * Text from a trace (span names, `code.file.path`) or from a collector's answer, made safe for
 * `vscode.window.show*Message`. Notifications render `[label](https://…)`, `[label](command:…)`
 * and `[label](file:…)` as links (VS Code's `parseLinkedText`), so a span named
 * `[Open the file](command:…)` would put a clickable command link in the editor's own UI. A
 * zero-width space between `]` and `(` keeps the text as it reads and never makes it a link.
 */
export function notificationText(untrusted: string): string {
  return untrusted.replaceAll('](', ']\u200b(');
}
