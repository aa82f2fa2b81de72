/**
 * A stand-in for the `vscode` module, installed into Node's module loader so that the
 * extension's own modules (and the bundled vscode-languageclient) load outside VS Code.
 *
 * It records what the code under test does (items shown, messages, editors opened, commands
 * registered) so tests can assert on it. Names it does not define resolve to an empty class,
 * because the bundled client subclasses dozens of vscode classes when it loads.
 */
import Module from "node:module";

type Listener<T> = (value: T) => void;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>): { dispose(): void } => {
    this.listeners.push(listener);
    return {
      dispose: () => {
        this.listeners = this.listeners.filter((l) => l !== listener);
      },
    };
  };
  fire(value: T): void {
    [...this.listeners].forEach((listener) => {
      listener(value);
    });
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Disposable {
  constructor(private readonly fn: () => void) {}
  dispose(): void {
    this.fn();
  }
}

export class Position {
  constructor(
    readonly line: number,
    readonly character: number,
  ) {}
}

export class Range {
  readonly start: Position;
  readonly end: Position;
  constructor(startLine: number, startCharacter: number, endLine: number, endCharacter: number) {
    this.start = new Position(startLine, startCharacter);
    this.end = new Position(endLine, endCharacter);
  }
  get isEmpty(): boolean {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
  get isSingleLine(): boolean {
    return this.start.line === this.end.line;
  }
}

export class Selection extends Range {}

export class Uri {
  private constructor(private readonly text: string) {}
  static parse(text: string): Uri {
    return new Uri(text);
  }
  static file(path: string): Uri {
    return new Uri(`file://${path}`);
  }
  get fsPath(): string {
    return decodeURIComponent(this.text.replace(/^file:\/\//, ""));
  }
  toString(): string {
    return this.text;
  }
}

export class TabInputText {
  constructor(readonly uri: Uri) {}
}

/** A tab of the one editor group the mock has. */
export interface FakeTab {
  input: TabInputText;
  isPreview: boolean;
  isDirty: boolean;
  label: string;
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class FakeQuickPick<T> {
  title: string | undefined;
  placeholder: string | undefined;
  matchOnDescription = false;
  matchOnDetail = false;
  sortByLabel = true;
  busy = false;
  items: T[] = [];
  activeItems: T[] = [];
  selectedItems: T[] = [];
  visible = false;
  disposed = false;
  private _value = "";
  readonly changeValue = new EventEmitter<string>();
  readonly changeActive = new EventEmitter<T[]>();
  readonly accept = new EventEmitter<undefined>();
  readonly hideEvent = new EventEmitter<undefined>();
  onDidChangeValue = this.changeValue.event;
  onDidChangeActive = this.changeActive.event;
  onDidAccept = this.accept.event;
  onDidHide = this.hideEvent.event;

  get value(): string {
    return this._value;
  }
  set value(text: string) {
    this._value = text;
  }
  /** What a user's keystroke does: set the value and fire the change. */
  type(text: string): void {
    this._value = text;
    this.changeValue.fire(text);
  }
  highlight(item: T): void {
    this.activeItems = [item];
    this.changeActive.fire([item]);
  }
  show(): void {
    this.visible = true;
  }
  hide(): void {
    if (this.visible) {
      this.visible = false;
      this.hideEvent.fire(undefined);
    }
  }
  dispose(): void {
    this.disposed = true;
  }
}

export interface Shown {
  uri: string;
  options: { preview?: boolean; preserveFocus?: boolean; selection?: Range } | undefined;
}

export interface Revealed {
  uri: string;
  range: Range;
  type: number | undefined;
}

/** What the code under test did, reset by `reset()` between tests. */
export const recorded = {
  configuration: {} as Record<string, unknown>,
  quickPicks: [] as FakeQuickPick<unknown>[],
  shown: [] as Shown[],
  /** revealRange calls on the editors that showTextDocument returned. */
  revealed: [] as Revealed[],
  /** The tabs of the one editor group, in order; showTextDocument opens and reuses them. */
  tabs: [] as FakeTab[],
  /** The labels of the tabs that tabGroups.close closed. */
  closedTabs: [] as string[],
  /** How many lines the editors that showTextDocument returns show. */
  visibleLines: 40,
  messages: [] as { level: string; text: string }[],
  commands: new Map<string, (...args: unknown[]) => unknown>(),
  statusBarItems: [] as Record<string, unknown>[],
  languageStatusItems: [] as Record<string, unknown>[],
  log: [] as string[],
  /** The button a test's user clicks on a message: given its text and buttons. */
  answer: (() => undefined) as (text: string, buttons: string[]) => string | undefined,
  /** The files a test's user picks in an open dialog. */
  openDialog: undefined as string[] | undefined,
  /** Settings written through WorkspaceConfiguration.update. */
  updates: [] as { key: string; value: unknown; target: unknown }[],
  statusBarMessages: [] as string[],
};

export function reset(): void {
  recorded.configuration = {};
  recorded.quickPicks = [];
  recorded.shown = [];
  recorded.revealed = [];
  recorded.tabs = [];
  recorded.closedTabs = [];
  recorded.visibleLines = 40;
  recorded.messages = [];
  recorded.commands.clear();
  recorded.statusBarItems = [];
  recorded.languageStatusItems = [];
  recorded.log = [];
  recorded.answer = () => undefined;
  recorded.openDialog = undefined;
  recorded.updates = [];
  recorded.statusBarMessages = [];
  vscode.window.activeTextEditor = undefined;
  vscode.workspace.workspaceFolders = undefined;
}

function fakeEditor(uri: Uri, selection?: Range): Record<string, unknown> {
  return {
    document: { uri, getText: () => "" },
    selection: selection ?? new Selection(0, 0, 0, 0),
    viewColumn: 1,
    visibleRanges: [new Range(0, 0, recorded.visibleLines - 1, 0)],
    revealRange: (range: Range, type?: number) => {
      recorded.revealed.push({ uri: uri.toString(), range, type });
    },
  };
}

/** What showTextDocument does to the tabs: a preview replaces the previous preview tab. */
function openTab(uri: Uri, preview: boolean): void {
  const existing = recorded.tabs.find((tab) => tab.input.uri.toString() === uri.toString());
  if (existing !== undefined) {
    existing.isPreview &&= preview;
    return;
  }
  if (preview) {
    recorded.tabs = recorded.tabs.filter((tab) => !tab.isPreview);
  }
  const label = uri.toString().split("/").at(-1) ?? "";
  recorded.tabs.push({ input: new TabInputText(uri), isPreview: preview, isDirty: false, label });
}

const message =
  (level: string) =>
  (text: string, ...rest: unknown[]): Promise<string | undefined> => {
    recorded.messages.push({ level, text });
    const buttons = rest.filter((item): item is string => typeof item === "string");
    return Promise.resolve(recorded.answer(text, buttons));
  };

const logger = (level: string) => (text: string) => recorded.log.push(`${level}: ${text}`);

const vscode = {
  EventEmitter,
  Disposable,
  Position,
  Range,
  Selection,
  Uri,
  ThemeColor,
  TabInputText,
  QuickPickItemKind: { Separator: -1, Default: 0 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  ConfigurationTarget: { Global: 1, Workspace: 2, WorkspaceFolder: 3 },
  LanguageStatusSeverity: { Information: 0, Warning: 1, Error: 2 },
  ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
  TextEditorRevealType: { Default: 0, InCenter: 1, InCenterIfOutsideViewport: 2, AtTop: 3 },
  ViewColumn: { Active: -1, One: 1 },
  workspace: {
    workspaceFolders: undefined as { name: string; uri: Uri; index: number }[] | undefined,
    getConfiguration: () => ({
      get: (key: string): unknown => recorded.configuration[key],
      update: (key: string, value: unknown, target: unknown): Promise<void> => {
        recorded.updates.push({ key, value, target });
        return Promise.resolve();
      },
    }),
    openTextDocument: (uri: Uri) => Promise.resolve({ uri }),
    onDidChangeConfiguration: () => new Disposable(() => undefined),
  },
  window: {
    activeTextEditor: undefined as Record<string, unknown> | undefined,
    createQuickPick: () => {
      const pick = new FakeQuickPick<unknown>();
      recorded.quickPicks.push(pick);
      return pick;
    },
    showTextDocument: (target: Uri | { uri: Uri }, options?: Shown["options"]) => {
      const uri = target instanceof Uri ? target : target.uri;
      recorded.shown.push({ uri: uri.toString(), options });
      // VS Code's default: a document shown without `preview: false` opens as a preview.
      openTab(uri, options?.preview ?? true);
      return Promise.resolve(fakeEditor(uri, options?.selection));
    },
    tabGroups: {
      get all() {
        return [{ tabs: recorded.tabs }];
      },
      close: (tabs: FakeTab | FakeTab[]): Promise<boolean> => {
        const closing = Array.isArray(tabs) ? tabs : [tabs];
        recorded.closedTabs.push(...closing.map((tab) => tab.label));
        recorded.tabs = recorded.tabs.filter((tab) => !closing.includes(tab));
        return Promise.resolve(true);
      },
    },
    withProgress: <R>(_options: unknown, task: () => Promise<R>): Promise<R> => task(),
    showOpenDialog: () => Promise.resolve(recorded.openDialog?.map((file) => Uri.file(file))),
    setStatusBarMessage: (text: string) => {
      recorded.statusBarMessages.push(text);
      return new Disposable(() => undefined);
    },
    showInformationMessage: message("info"),
    showWarningMessage: message("warning"),
    showErrorMessage: message("error"),
    createOutputChannel: () => ({
      info: logger("info"),
      warn: logger("warn"),
      error: logger("error"),
      debug: logger("debug"),
      trace: logger("trace"),
      appendLine: logger("line"),
      append: logger("text"),
      show: () => undefined,
      dispose: () => undefined,
    }),
    createStatusBarItem: () => {
      const item: Record<string, unknown> = { show: () => undefined, dispose: () => undefined };
      recorded.statusBarItems.push(item);
      return item;
    },
  },
  languages: {
    createLanguageStatusItem: () => {
      const item: Record<string, unknown> = { dispose: () => undefined };
      recorded.languageStatusItems.push(item);
      return item;
    },
  },
  commands: {
    registerCommand: (id: string, handler: (...args: unknown[]) => unknown) => {
      if (recorded.commands.has(id)) {
        throw new Error(`command '${id}' already exists`);
      }
      recorded.commands.set(id, handler);
      return new Disposable(() => recorded.commands.delete(id));
    },
    executeCommand: () => Promise.resolve(undefined),
  },
  extensions: { getExtension: () => undefined },
  env: { language: "en", appName: "mock", machineId: "mock", sessionId: "mock" },
  version: "1.82.0",
};

export type FakeVscode = typeof vscode;

// Anything the code asks for that the mock does not define is a class, so subclassing works.
const placeholders = new Map<string | symbol, unknown>();
const proxy = new Proxy(vscode, {
  get(target, name) {
    if (name in target) {
      return target[name as keyof typeof target];
    }
    if (!placeholders.has(name)) {
      // eslint-disable-next-line @typescript-eslint/no-extraneous-class -- only ever subclassed
      placeholders.set(name, class {});
    }
    return placeholders.get(name);
  },
});

interface Loader {
  _load(request: string, parent: unknown, isMain: boolean): unknown;
}
const loader = Module as unknown as Loader;
const original = loader._load.bind(loader);
loader._load = (request, parent, isMain) => (request === "vscode" ? proxy : original(request, parent, isMain));

export { vscode };
