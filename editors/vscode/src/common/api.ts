/**
 * findcode's custom requests as typed calls on a running client. The UI code depends on this
 * interface, not on LanguageClient, so it is tested against a fake server.
 */
import { CancellationTokenSource, ExecuteCommandRequest, LanguageClient } from "vscode-languageclient/node";
import { statusParams } from "./requests";
import { COMMAND_PAUSE, COMMAND_REINDEX, COMMAND_RESUME, SEARCH, SearchParams, SearchResponse, SIMILAR, SimilarParams, Status, STATUS } from "./protocol";

export interface FindcodeApi {
  search(params: SearchParams, signal?: AbortSignal): Promise<SearchResponse>;
  similar(params: SimilarParams): Promise<SearchResponse>;
  status(): Promise<Status>;
  reindex(): Promise<void>;
  pause(): Promise<Status>;
  resume(): Promise<Status>;
}

export function apiFor(client: LanguageClient): FindcodeApi {
  return {
    async search(params, signal) {
      // An aborted signal becomes $/cancelRequest, so the server can skip work nobody awaits.
      const source = new CancellationTokenSource();
      const cancel = (): void => { source.cancel(); };
      signal?.addEventListener("abort", cancel);
      try {
        return await client.sendRequest<SearchResponse>(SEARCH, params, source.token);
      } finally {
        signal?.removeEventListener("abort", cancel);
        source.dispose();
      }
    },
    similar: (params) => client.sendRequest<SearchResponse>(SIMILAR, params),
    status: () => client.sendRequest<Status>(STATUS, statusParams()),
    async reindex() {
      await client.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_REINDEX, arguments: [] });
    },
    pause: () => client.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_PAUSE, arguments: [] }) as Promise<Status>,
    resume: () => client.sendRequest(ExecuteCommandRequest.type, { command: COMMAND_RESUME, arguments: [] }) as Promise<Status>,
  };
}
