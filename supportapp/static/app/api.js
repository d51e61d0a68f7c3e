// REST client of the public API. Tokens live in sessionStorage (this tab only, gone when it
// closes) and in memory; never in a URL, cookie or localStorage.
import { t } from "./strings.js";

// sessionStorage, or a memory stand-in where the browser denies it (a widget framed by
// another site while third-party storage is blocked): then a reload forgets the tab's state,
// and an identified visitor still finds their open chat through the API.
export const tabStorage = (() => {
  try {
    const probe = "supportapp.probe";
    window.sessionStorage.setItem(probe, "1");
    window.sessionStorage.removeItem(probe);
    return window.sessionStorage;
  } catch {
    const memory = new Map();
    return {
      getItem: (key) => (memory.has(key) ? memory.get(key) : null),
      setItem: (key, value) => memory.set(key, String(value)),
      removeItem: (key) => memory.delete(key),
    };
  }
})();

export class ApiError extends Error {
  constructor(status, body) {
    const message = Array.isArray(body?.message) ? body.message.join(" ") : body?.message;
    super(message || t.errors.generic);
    this.status = status;
    this.errors = body?.errors || {};
  }
}

export class Api {
  constructor(storageKey) {
    this.storageKey = storageKey;
    const saved = JSON.parse(tabStorage.getItem(storageKey) || "null");
    this.tokens = saved || null;
    this.onSignedOut = () => {};
  }

  get accessToken() {
    return this.tokens?.accessToken || null;
  }

  setTokens(tokens) {
    this.tokens = tokens ? { accessToken: tokens.accessToken, refreshToken: tokens.refreshToken } : null;
    if (this.tokens) tabStorage.setItem(this.storageKey, JSON.stringify(this.tokens));
    else tabStorage.removeItem(this.storageKey);
  }

  async refresh() {
    if (!this.tokens?.refreshToken) return false;
    const response = await fetch("/api/auth/refresh", {
      method: "POST",
      headers: { Authorization: `Bearer ${this.tokens.refreshToken}`, Accept: "application/json" },
    });
    if (!response.ok) return false;
    const body = await response.json();
    this.setTokens({ ...this.tokens, accessToken: body.data.accessToken });
    return true;
  }

  async request(method, path, body, { retry = true, form = false } = {}) {
    const headers = { Accept: "application/json" };
    if (this.accessToken) headers.Authorization = `Bearer ${this.accessToken}`;
    let payload;
    if (form) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, { method, headers, body: payload });
    } catch {
      throw new ApiError(0, { message: t.errors.network });
    }
    if (response.status === 401 && retry && this.tokens?.refreshToken) {
      if (await this.refresh()) return this.request(method, path, body, { retry: false, form });
      this.setTokens(null);
      this.onSignedOut();
    }
    const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
    if (!response.ok) throw new ApiError(response.status, data);
    return data?.data;
  }

  get(path) {
    return this.request("GET", path);
  }
  post(path, body) {
    return this.request("POST", path, body ?? {});
  }
  patch(path, body) {
    return this.request("PATCH", path, body ?? {});
  }
  put(path, body) {
    return this.request("PUT", path, body ?? {});
  }
  upload(path, formData) {
    return this.request("POST", path, formData, { form: true });
  }

  // GET that answers null when the route does not exist on this server (a feature not
  // deployed) instead of failing the page.
  async optional(path) {
    try {
      return await this.get(path);
    } catch (error) {
      if (error.status === 404 || error.status === 405) return null;
      throw error;
    }
  }
}

export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
