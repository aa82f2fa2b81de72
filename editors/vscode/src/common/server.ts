/**
 * The findcode Language Server's lifecycle: choose the command, start the client with the
 * settings as initializationOptions, answer the server's settings pulls and tell it of changes,
 * restart when asked (coalesced) and on crashes (bounded), and keep the status item in step
 * with the server.
 */
import * as vscode from "vscode";
import {
  CloseAction,
  DidChangeConfigurationNotification,
  ErrorAction,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  State,
} from "vscode-languageclient/node";
import { apiFor, FindcodeApi } from "./api";
import { answerConfiguration } from "./configuration";
import { candidates, chooseLaunch, Launch, nothingWorks, workspaceEnvironments } from "./launch";
import { Cause, errorText, notifyServerProblem, ProblemNotice } from "./notify";
import { ProgressTracker } from "./progress";
import { CONFIGURATION_SECTION, ChangedSettings, InitializationOptions } from "./protocol";
import { defaultInterpreterPath, selectedInterpreter } from "./python";
import { Coalescer, RestartBudget } from "./restart";
import { currentPathVariables, expandPath, readSettings, toInitializationOptions } from "./settings";
import { StatusItem } from "./statusItem";

/** The settings as the server reads them: at initialize, when it pulls them, after a change. */
function serverSettings(): InitializationOptions {
  return toInitializationOptions(readSettings(), currentPathVariables());
}

/** Where the server may be, in the order VS Code's Python tooling looks for an interpreter. */
async function launchCandidates(): Promise<Launch[]> {
  const settings = readSettings();
  const vars = currentPathVariables();
  const folders = vscode.workspace.workspaceFolders ?? [];
  const configured = defaultInterpreterPath();
  return candidates(settings.serverCommand, expandPath(settings.interpreter, vars), {
    selected: await selectedInterpreter(folders[0]?.uri),
    workspace: workspaceEnvironments(folders.map((folder) => folder.uri.fsPath)),
    defaultPath: configured === undefined ? undefined : expandPath(configured, vars),
  });
}

// While indexing without progress notifications (e.g. the server's own watcher), poll this often.
const STATUS_POLL_MS = 3_000;

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private readonly budget = new RestartBudget();
  private readonly progress = new ProgressTracker();
  private readonly restarts = new Coalescer(() => this.cycle());
  private readonly problem = new ProblemNotice((message, cause) =>
    notifyServerProblem(message, cause, this.log, () => this.restart()),
  );
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  // The client's crash handler must not restart a server we are stopping or still starting.
  private quiet = false;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly status: StatusItem,
  ) {}

  /** The running server's requests, or undefined (callers tell the user it is not running). */
  get api(): FindcodeApi | undefined {
    return this.client?.state === State.Running ? apiFor(this.client) : undefined;
  }

  /** A restart a person asked for: a problem that recurs is reported again, as its answer. */
  restart(): Promise<void> {
    this.problem.clear();
    return this.restarts.run();
  }

  /** A restart for changed settings or interpreter: a problem that recurs is not news. */
  restartForChange(): Promise<void> {
    return this.restarts.run();
  }

  /**
   * For a command that needs the server while it is not running: the notification about why,
   * again, or while it starts, a passing word in the status bar rather than another toast.
   */
  explainNotRunning(): void {
    if (!this.problem.remind()) {
      vscode.window.setStatusBarMessage("$(loading~spin) findcode: the server is starting", 5_000);
    }
  }

  /** Whether the server is down for a reason the user was told about. */
  get failed(): boolean {
    return this.problem.active;
  }

  async dispose(): Promise<void> {
    clearTimeout(this.pollTimer);
    await this.stopClient();
  }

  /** Tells a running server its settings changed; it pulls them and applies them itself. */
  async pushSettings(): Promise<void> {
    const client = this.client;
    if (client?.state !== State.Running) {
      return; // a server still starting pulls the settings once it is initialized
    }
    const settings: ChangedSettings = { [CONFIGURATION_SECTION]: serverSettings() };
    try {
      await client.sendNotification(DidChangeConfigurationNotification.type, { settings });
    } catch (error) {
      this.log.warn(`Sending the changed settings: ${errorText(error)}`);
    }
  }

  /** Asks the server for its status and shows it, polling while it still has work queued. */
  async refreshStatus(): Promise<void> {
    clearTimeout(this.pollTimer);
    const api = this.api;
    if (api === undefined || this.progress.busy) {
      return;
    }
    try {
      const status = await api.status();
      // Progress may have begun while the request was out; it is newer than this answer.
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition
      if (!this.progress.busy) {
        this.status.show({ kind: "ready", status });
      }
      if (status.state === "starting" || status.state === "indexing") {
        this.pollTimer = setTimeout(() => void this.refreshStatus(), STATUS_POLL_MS);
      }
    } catch (error) {
      if (this.client?.state !== State.Running) {
        // The server went away meanwhile; the crash handler or the next start updates the view.
        return;
      }
      // Leaving the last progress on show would claim indexing goes on; say what is known.
      const message = `findcode/status failed: ${errorText(error)}`;
      this.log.error(message);
      this.status.show({ kind: "failed", message });
    }
  }

  private async cycle(): Promise<void> {
    await this.stopClient();
    // A deliberate restart (command, settings, interpreter) earns a fresh crash allowance.
    this.budget.reset();
    this.status.show({ kind: "starting" });
    const choice = await chooseLaunch(await launchCandidates());
    choice.problems.forEach((problem) => { this.log.warn(problem.text); });
    if (choice.launch === undefined) {
      this.fail(nothingWorks(choice.problems), "launch");
      return;
    }
    const { launch } = choice;
    this.log.info(`Starting ${[launch.command, ...launch.args].join(" ")} (from ${launch.source})`);
    const client = this.createClient(launch);
    this.client = client;
    this.quiet = true;
    let failure: string | undefined;
    try {
      await client.start();
      // vscode-languageclient 9 resolves start() instead of rejecting when the process exits
      // during initialize (its close handler clears the promise it later returns), so the state
      // is the only reliable verdict.
      if (client.state !== State.Running) {
        failure = "the process exited before it answered initialize";
      }
    } catch (error) {
      failure = errorText(error);
    } finally {
      this.quiet = false;
    }
    if (failure !== undefined) {
      this.client = undefined;
      void client.dispose().catch(() => undefined);
      this.fail(
        `The server (${launch.command}, from ${launch.source}) failed to start: ${failure}. The log has the server's own output.`,
        "run",
      );
      return;
    }
    this.problem.clear();
    client.onDidChangeState((event) => {
      if (event.newState === State.Running) {
        void this.refreshStatus();
      }
    });
    await this.refreshStatus();
  }

  private createClient(launch: Launch): LanguageClient {
    const options: LanguageClientOptions = {
      // Every file the editor saves matters: the server re-indexes it ahead of other work.
      documentSelector: [{ scheme: "file" }],
      outputChannel: this.log,
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: serverSettings(),
      initializationFailedHandler: () => false,
      errorHandler: {
        error: (_error, _message, count) => ({
          action: (count ?? 0) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown,
          handled: true,
        }),
        // `client` is assigned below, long before the process can close.
        closed: () => this.onClosed(client),
      },
      middleware: {
        workspace: {
          configuration: (params, token, next) => answerConfiguration(params, token, next, serverSettings),
        },
        handleWorkDoneProgress: (token, params, next) => {
          const phase = this.progress.update(token, params);
          if (phase !== undefined) {
            this.status.show(phase);
          } else {
            void this.refreshStatus();
          }
          // Our status item shows the progress; the client's own window spinner only gets the
          // "end", which it needs to release the token.
          if (params.kind === "end") {
            next(token, params);
          }
        },
      },
    };
    const client: LanguageClient = new LanguageClient(
      "findcode",
      "findcode",
      { command: launch.command, args: launch.args, options: { env: process.env } },
      options,
    );
    return client;
  }

  private onClosed(client: LanguageClient): { action: CloseAction; handled: boolean } {
    // Closing while we start or stop it, or after we gave up on this client (its close can be
    // reported after start() already returned), is not a crash to recover from.
    if (this.quiet || client !== this.client) {
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.progress.clear();
    if (this.budget.allow()) {
      this.log.warn("The findcode server stopped unexpectedly; restarting it.");
      this.status.show({ kind: "starting" });
      return { action: CloseAction.Restart, handled: true };
    }
    this.fail(
      "The server stopped unexpectedly 3 times within 3 minutes and was left stopped. The log shows why; fix that, then run findcode: Restart Server.",
      "run",
    );
    return { action: CloseAction.DoNotRestart, handled: true };
  }

  private fail(message: string, cause: Cause): void {
    this.log.error(message);
    this.status.show({ kind: "failed", message });
    this.problem.report(message, cause);
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.progress.clear();
    if (client === undefined) {
      return;
    }
    this.quiet = true;
    try {
      await client.dispose(2_000);
    } catch (error) {
      this.log.warn(`Stopping the findcode server: ${errorText(error)}`);
    } finally {
      this.quiet = false;
    }
    this.status.show({ kind: "stopped" });
  }
}
