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
