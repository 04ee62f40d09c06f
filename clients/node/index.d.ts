export interface ClientOptions {
  /** Base URL of the gateway, e.g. "http://127.0.0.1:8000". */
  url: string;
  /** An API token of the gateway (API_TOKENS); it decides the team. */
  token: string;
  /** Timeout of each HTTP request, in milliseconds (default 10000). */
  timeoutMs?: number;
  /** How many times a 503 is retried (default 3). */
  retries?: number;
  /** Upper bound of one wait on Retry-After, in milliseconds (default 30000). */
  maxRetryAfterMs?: number;
}

export interface SubmitOptions {
  lang?: "en" | "es";
  channel?: string;
  priority?: string;
}

export interface RunOptions extends SubmitOptions {
  /** How long `run` polls before it raises EstafetaTimeout (default 30000). */
  waitMs?: number;
  /** Pause between two polls (default 200). */
  pollMs?: number;
}

export interface Accepted {
  task_id: string;
  status_url: string;
  service: string;
  verb: string;
}

export interface TaskResult {
  service?: string;
  verb?: string;
  team?: string;
  posted?: boolean;
  text?: string;
  data?: Record<string, unknown>;
}

export interface TaskState {
  task_id: string;
  state: "PENDING" | "STARTED" | "RETRY" | "SUCCESS" | "FAILURE" | string;
  result?: TaskResult;
  error?: string;
}

export class EstafetaError extends Error {
  constructor(status: number, code: string, message: string, body?: object);
  readonly status: number;
  readonly code: string;
  readonly body: Record<string, unknown>;
}

export class EstafetaUnavailable extends Error {
  constructor(message: string, status?: number);
  readonly status: number;
}

export class EstafetaTimeout extends Error {
  constructor(message: string);
}

export class EstafetaClient {
  constructor(options: ClientOptions);
  readonly url: string;
  request(method: string, url: string, body?: object): Promise<any>;
  submit(service: string, text: string, options?: SubmitOptions): Promise<Accepted>;
  task(id: string): Promise<TaskState>;
  run(service: string, text: string, options?: RunOptions): Promise<TaskState>;
  wait(statusUrl: string, options?: { waitMs?: number; pollMs?: number }): Promise<TaskState>;
}
