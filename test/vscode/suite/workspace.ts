import assert from 'node:assert/strict';
import * as vscode from 'vscode';

/** The folder the suite runs in: the open workspace folder, or MESH_POLICY_TEST_WORKSPACE. */
export function workspaceRoot(): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  if (folder) return folder;
  const fromEnv = process.env['MESH_POLICY_TEST_WORKSPACE'];
  assert.ok(fromEnv, 'no workspace folder open and MESH_POLICY_TEST_WORKSPACE unset');
  return vscode.Uri.file(fromEnv);
}

/** Polls `probe` every 250 ms until it gives a value (the server answers once its first scan is done). */
export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
