// The HTTP API client (see the contract in docs/API.md): JSON in, JSON or
// problem+json (RFC 9457) out, and retries that can never count a pick twice.

// Retried: no answer at all, throttling, and the gateway's "try again" statuses.
// A submission is retried only with its Idempotency-Key, so a replay is answered
// from the first write instead of being stored again.
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

export const policy = {
  attempts: 4, // first try included
  baseDelayMs: 400,
  maxDelayMs: 8000, // a longer Retry-After is not waited for: we give up and say so
  timeoutMs: 10000,
};

export class ApiError extends Error {
  // kind: "network" | "throttled" | "client" | "server"
  constructor(kind, message, { status = 0, problem = null, attempts = 1, retryAfterMs = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.problem = problem;
    this.attempts = attempts;
    this.retryAfterMs = retryAfterMs;
  }
}

// 128 random bits; the API accepts 16 to 128 characters of [A-Za-z0-9_.:-].
export function newIdempotencyKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3).
export function retryAfterMs(value, now = Date.now()) {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Exponential backoff with jitter, so many clients do not retry in step.
function backoffMs(attempt) {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

async function once(url, init) {
  let response;
  try {
    response = await fetch(url, {
      ...init,
      cache: "no-store",
      credentials: "same-origin",
      signal: AbortSignal.timeout(policy.timeoutMs),
    });
  } catch {
    return null; // offline, DNS, connection reset, timeout: no answer at all
  }
  let body = null;
  if (/json/.test(response.headers.get("Content-Type") || "")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  return { status: response.status, ok: response.ok, headers: response.headers, body };
}

function failure(answer, attempts, retryAfter = null) {
  const problem = answer.body && typeof answer.body === "object" && "title" in answer.body ? answer.body : null;
  const status = answer.status;
  const kind = status === 429 ? "throttled" : status < 500 ? "client" : "server";
  const text = problem ? [problem.title, problem.detail].filter(Boolean).join(": ") : `HTTP ${status}`;
  return new ApiError(kind, text, { status, problem, attempts, retryAfterMs: retryAfter });
}

// onRetry({ attempt, of, reason: "network" | "throttled" | "server", delayMs })
async function send(url, init, { retry = true, onRetry = () => {} } = {}) {
  const attempts = retry ? policy.attempts : 1;
  for (let attempt = 1; ; attempt += 1) {
    const answer = await once(url, init);
    if (answer && answer.ok) return answer;
    const retryable = !answer || RETRY_STATUSES.has(answer.status);
    const asked = answer ? retryAfterMs(answer.headers.get("Retry-After")) : null;
    const delayMs = asked ?? backoffMs(attempt);
    if (!retryable || attempt >= attempts || delayMs > policy.maxDelayMs) {
      if (!answer) {
        throw new ApiError("network", "The server could not be reached.", { attempts: attempt });
      }
      throw failure(answer, attempt, asked);
    }
    const reason = !answer ? "network" : answer.status === 429 ? "throttled" : "server";
    onRetry({ attempt: attempt + 1, of: attempts, reason, delayMs });
    await wait(delayMs);
  }
}

// POST /api/submit-number. `body` is the exact JSON text: a retry must resend the
// same bytes with the same key, or the server would rightly answer 409.
export async function submitNumber(body, idempotencyKey, options) {
  const answer = await send(
    "/api/submit-number",
    {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": idempotencyKey },
      body,
    },
    options,
  );
  return { status: answer.status, submission: answer.body };
}

// GET /api/daily-stats for UTC days `from`..`to` (YYYY-MM-DD).
export async function dailyStats(from, to, options) {
  const query = new URLSearchParams({ from, to });
  const answer = await send(`/api/daily-stats?${query}`, { headers: { Accept: "application/json" } }, options);
  return answer.body;
}
