// Talking to the host's JSON API. The browser sends the session cookie
// itself (it is HttpOnly, so this code never sees the token); every failure
// becomes an ApiError carrying the host's error code and message.

/**
 * A failed API call: `status` is the HTTP status, `code` the host's code,
 * `field` the dotted path of the setting a refusal names (settings only).
 */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

const loggedOutListeners = new Set();

/** Calls `listener` when the host stops accepting our cookie (401). */
export function onLoggedOut(listener) {
  loggedOutListeners.add(listener);
}

/**
 * Calls the API: `path` is below `/api` (e.g. `/events?limit=5`), `body`
 * (optional) is sent as JSON, or as it is with its own type when it is a
 * file (a Blob, for uploads). Resolves to the parsed JSON answer (or null
 * for an empty one).
 */
export async function api(method, path, body) {
  const init = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json' },
    cache: 'no-store',
  };
  if (body instanceof Blob) {
    // The host judges the type by the content and checks it agrees.
    init.headers['Content-Type'] = body.type || 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api${path}`, init);
  } catch (networkError) {
    throw new ApiError(0, 'network', `cannot reach Stagehand (${networkError.message})`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    // Errors are {"error": {"code", "message"}}; a settings refusal adds
    // `field` (the dotted path of the setting it names).
    const error = (data && typeof data.error === 'object' && data.error) || {};
    if (response.status === 401) {
      loggedOutListeners.forEach((listener) => listener());
    }
    throw new ApiError(
      response.status,
      error.code || 'http_' + response.status,
      error.message || `${method} ${path} failed with HTTP ${response.status}`,
      typeof error.field === 'string' ? error.field : undefined,
    );
  }
  return data;
}

/** Shorthands. */
export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

/** Builds a query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') {
      search.set(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
