/**
 * "Choose Python or findcode…": a file dialog for the interpreter or executable that runs the
 * server, stored in the setting that fits it. For a person whose findcode is somewhere none of
 * the usual places (selected interpreter, workspace environments, PATH) can see.
 */
import * as path from "node:path";
import * as vscode from "vscode";
import { SECTION } from "./settings";

export type ServerSetting = { key: "interpreter"; value: string } | { key: "serverCommand"; value: string[] };

/** A Python runs `-m findcode serve` (findcode.interpreter); anything else is the server itself. */
export function settingFor(file: string): ServerSetting {
  return /^python[\d.]*(\.exe)?$/i.test(path.basename(file))
    ? { key: "interpreter", value: file }
    : { key: "serverCommand", value: [file, "serve"] };
}

/** Asks for the file and stores it; false when the dialog was cancelled. */
export async function chooseServer(): Promise<boolean> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const picked = await vscode.window.showOpenDialog({
    title: "Choose a Python interpreter that has findcode, or the findcode executable",
    openLabel: "Use for findcode",
    canSelectFiles: true,
    canSelectFolders: false,
    canSelectMany: false,
    defaultUri: folder?.uri,
  });
  const file = picked?.[0]?.fsPath;
  if (file === undefined) {
    return false;
  }
  const setting = settingFor(file);
  // A path on this machine for this project: the workspace's settings when there is one.
  const target = folder === undefined ? vscode.ConfigurationTarget.Global : vscode.ConfigurationTarget.Workspace;
  const config = vscode.workspace.getConfiguration(SECTION);
  // serverCommand wins over interpreter, so a chosen interpreter must not sit behind an old one.
  await config.update(setting.key === "interpreter" ? "serverCommand" : "interpreter", undefined, target);
  // The change restarts the server (see settingsChange).
  await config.update(setting.key, setting.value, target);
  return true;
}
