// A client of the Estafeta gateway's HTTP API (POST /api/v1/commands/<service>,
// GET /api/v1/tasks/<id>), on Node's global fetch: no runtime dependencies.

/**
 * @typedef {object} ClientOptions
 * @property {string} url Base URL of the gateway, e.g. "http://127.0.0.1:8000".
 * @property {string} token An API token (API_TOKENS of the gateway); it decides the team.
 * @property {number} [timeoutMs] Timeout of each HTTP request (default 10000).
 * @property {number} [retries] How many times a 503 is retried (default 3).
 * @property {number} [maxRetryAfterMs] Upper bound of one wait on Retry-After (default 30000).
 */

/**
 * @typedef {object} SubmitOptions
 * @property {"en"|"es"} [lang]
 * @property {string} [channel]
 * @property {string} [priority] e.g. "interactive" or "bulk".
 */

/**
 * @typedef {object} Accepted
 * @property {string} task_id
 * @property {string} status_url
 * @property {string} service
 * @property {string} verb
 */

/**
 * @typedef {object} TaskState
 * @property {string} task_id
 * @property {"PENDING"|"STARTED"|"RETRY"|"SUCCESS"|"FAILURE"|string} state
 * @property {{text?: string, data?: object, service?: string, verb?: string, team?: string}} [result]
 * @property {string} [error]
 */

const TERMINAL = new Set(["SUCCESS", "FAILURE"]);

/** A 4xx answer of the gateway: `status`, its `code` ("usage", "unknown_task", ...) and message. */
export class EstafetaError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {object} [body]
   */
  constructor(status, code, message, body = {}) {
    super(message);
    this.name = "EstafetaError";
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

/** The gateway stayed unavailable (503, 5xx or no connection) after every retry. */
export class EstafetaUnavailable extends Error {
  /**
   * @param {string} message
   * @param {number} [status]
   */
  constructor(message, status = 0) {
    super(message);
    this.name = "EstafetaUnavailable";
    this.status = status;
  }
}

/** A request or `run` did not finish in time. */
export class EstafetaTimeout extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "EstafetaTimeout";
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds or an HTTP date, as milliseconds; `fallback` when absent or unreadable. */
function retryAfterMs(header, fallback) {
  if (!header) return fallback;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? fallback : Math.max(0, at - Date.now());
}

export class EstafetaClient {
  /** @param {ClientOptions} options */
  constructor({ url, token, timeoutMs = 10_000, retries = 3, maxRetryAfterMs = 30_000 }) {
    if (!url) throw new TypeError("EstafetaClient needs a `url`");
    if (!token) throw new TypeError("EstafetaClient needs a `token`");
    this.url = url.replace(/\/+$/, "");
    this.token = token;
    this.timeoutMs = timeoutMs;
    this.retries = retries;
    this.maxRetryAfterMs = maxRetryAfterMs;
  }

  /**
   * One request, retried on 503 (honouring Retry-After, bounded); 4xx raise EstafetaError.
   * @param {string} method
   * @param {string} url absolute, or a path under the gateway
   * @param {object} [body]
   * @returns {Promise<any>}
   */
  async request(method, url, body) {
    const target = url.startsWith("http") ? url : `${this.url}${url}`;
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        response = await fetch(target, {
          method,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: "application/json",
            ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        if (error?.name === "TimeoutError") {
          throw new EstafetaTimeout(`${method} ${target} took more than ${this.timeoutMs} ms`);
        }
        throw new EstafetaUnavailable(`${method} ${target} failed: ${error?.cause?.code ?? error}`);
      }
      if (response.status === 503 && attempt < this.retries) {
        await response.body?.cancel();
        const wait = retryAfterMs(response.headers.get("retry-after"), 1000 * 2 ** attempt);
        await sleep(Math.min(wait, this.maxRetryAfterMs));
        continue;
      }
      const text = await response.text();
      let parsed = {};
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = {};
      }
      if (response.status >= 400 && response.status < 500) {
        throw new EstafetaError(response.status, parsed.error ?? "http_error",
          parsed.message ?? `HTTP ${response.status}`, parsed);
      }
      if (response.status >= 500) {
        throw new EstafetaUnavailable(
          parsed.message ?? `${method} ${target} answered ${response.status}`, response.status);
      }
      return parsed;
    }
  }

  /**
   * Queue a command; resolves with the 202 body once the broker confirmed it.
   * @param {string} service
   * @param {string} text
   * @param {SubmitOptions} [options]
   * @returns {Promise<Accepted>}
   */
  submit(service, text, options = {}) {
    const body = { text };
    for (const key of ["lang", "channel", "priority"]) {
      if (options[key] !== undefined) body[key] = options[key];
    }
    return this.request("POST", `/api/v1/commands/${encodeURIComponent(service)}`, body);
  }

  /**
   * The state of a task (its result once SUCCESS).
   * @param {string} id
   * @returns {Promise<TaskState>}
   */
  task(id) {
    return this.request("GET", `/api/v1/tasks/${encodeURIComponent(id)}`);
  }

  /**
   * Submit a command and poll its status until SUCCESS or FAILURE, or `waitMs` passed.
   * @param {string} service
   * @param {string} text
   * @param {SubmitOptions & {waitMs?: number, pollMs?: number}} [options]
   * @returns {Promise<TaskState>}
   */
  async run(service, text, { waitMs = 30_000, pollMs = 200, ...options } = {}) {
    const accepted = await this.submit(service, text, options);
    return this.wait(accepted.status_url ?? `/api/v1/tasks/${accepted.task_id}`,
      { waitMs, pollMs });
  }

  /**
   * Poll a status URL (or task path) until the task finished.
   * @param {string} statusUrl
   * @param {{waitMs?: number, pollMs?: number}} [options]
   * @returns {Promise<TaskState>}
   */
  async wait(statusUrl, { waitMs = 30_000, pollMs = 200 } = {}) {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const state = await this.request("GET", statusUrl);
      if (TERMINAL.has(state.state)) return state;
      if (Date.now() + pollMs > deadline) {
        throw new EstafetaTimeout(`task still ${state.state} after ${waitMs} ms`);
      }
      await sleep(pollMs);
    }
  }
}
