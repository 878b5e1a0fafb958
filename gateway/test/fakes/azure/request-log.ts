// RequestLog: every request any fake Azure endpoint received (server, host, method, path, authorization), for assertions.

export interface LoggedRequest {
  /** Which fake endpoint family took it: login, arm, console, storage, evil. */
  server: string;
  host: string;
  method: string;
  /** Path and query. */
  url: string;
  authorization: string | undefined;
  /** WebSocket only: the text of the first frame (the token, if the client sent it). */
  firstFrame?: string;
}

export class RequestLog {
  readonly entries: LoggedRequest[] = [];

  add(e: LoggedRequest): LoggedRequest {
    this.entries.push(e);
    return e;
  }

  of(server: string): LoggedRequest[] {
    return this.entries.filter((e) => e.server === server);
  }
}
