// The JSON API under /api/v1, with the bearer token and the user's language.

import { locale } from './i18n.js';

const config = JSON.parse(document.getElementById('tablet-config').textContent);
export const API = config.api;
export const settings = config;

let token = null;

export function setToken(value) {
  token = value;
}

export function hasToken() {
  return token !== null;
}

/** An answer of the server other than 2xx, with its error envelope unpacked. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
    this.code = body?.error?.code || null;
    this.fields = body?.error?.fields || {};
  }
}

/** No answer at all: offline, the server unreachable, or too slow. */
export class NetworkError extends Error {}

/**
 * Call the API. `json` is sent as JSON, `blob` as the raw body. Returns the parsed JSON
 * (or null for 204); throws ApiError or NetworkError.
 */
export async function call(method, path, { json, blob, headers = {}, timeout = 30000 } = {}) {
  const request = {
    method,
    headers: { Accept: 'application/json', 'Accept-Language': locale(), ...headers },
    signal: AbortSignal.timeout(timeout),
    cache: 'no-store',
  };
  if (token) request.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    request.headers['Content-Type'] = 'application/json';
    request.body = JSON.stringify(json);
  } else if (blob !== undefined) {
    request.headers['Content-Type'] = blob.type || 'application/octet-stream';
    request.body = blob;
  }
  let response;
  try {
    response = await fetch(path.startsWith('/') ? path : `${API}/${path}`, request);
  } catch (error) {
    throw new NetworkError(error.message || 'network error');
  }
  const type = response.headers.get('Content-Type') || '';
  const body = response.status === 204 ? null
    : type.includes('json') ? await response.json().catch(() => null)
      : await response.blob();
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** A human-readable reason from any error the calls above throw. */
export function describe(error) {
  if (error instanceof ApiError) {
    const fields = Object.entries(error.fields).map(([name, reason]) => `${name}: ${reason}`);
    return fields.length ? `${error.message} (${fields.join('; ')})` : error.message;
  }
  return error?.message || String(error);
}
