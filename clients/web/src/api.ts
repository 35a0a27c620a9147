// The HTTP half of RailCloud, as the pages use it. Its types are the wire contract's (protocol.ts).
import type {
  AccountCreated, AccountView, CallerView, DeviceView, EnrolmentResponse, KioskView, LoginResponse, NegotiateResponse, NonceResponse,
  PasswordReset,
} from "./protocol";

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }

  /** The API refused the caller's sign-in or role (401/403), as opposed to failing or being unreachable. */
  static isRefusal(error: unknown): error is ApiError {
    return error instanceof ApiError && (error.status === 401 || error.status === 403);
  }
}

/**
 * config.json: where the API is, and Entra ID sign-in when set up. knownAuthorities is only for an authority MSAL
 * does not know by itself (a custom domain, or the tests' local stand-in).
 */
export interface WebConfig { apiBaseUrl?: string; entra?: { clientId: string; authority: string; scope: string; knownAuthorities?: string[] } }

let config: Promise<WebConfig> | undefined;
export function webConfig(): Promise<WebConfig> {
  config ??= fetch("/config.json").then((r) => (r.ok ? r.json() : {})).catch(() => ({}));
  return config;
}

async function apiBaseUrl(): Promise<string> {
  return ((await webConfig()).apiBaseUrl ?? "").replace(/\/$/, "");
}

/** The absolute URL of an API route (the same origin locally; the Functions app in Azure). */
export async function apiUrl(path: string): Promise<string> {
  return new URL((await apiBaseUrl()) + path, location.origin).toString();
}

export async function call<T>(path: string, init: RequestInit, token?: string): Promise<T> {
  path = (await apiBaseUrl()) + path;
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch {
    throw new ApiError(0, "unavailable", "RailCloud cannot be reached. Check the network connection.");
  }
  if (!response.ok) {
    let code = "unavailable";
    let detail = response.statusText;
    try {
      const problem = await response.json();
      code = problem.code ?? code;
      detail = problem.detail ?? problem.title ?? detail;
    } catch { /* not JSON */ }
    throw new ApiError(response.status, code, detail);
  }
  return response.status === 204 ? (undefined as T) : ((await response.json()) as T);
}

export const login = (id: string, password: string) =>
  call<LoginResponse>("/api/login", { method: "POST", body: JSON.stringify({ id, password }), headers: { "Content-Type": "application/json" } });

export const negotiate = (token: string) => call<NegotiateResponse>("/api/negotiate", { method: "POST" }, token);

export const logout = (token: string) => call<void>("/api/logout", { method: "POST" }, token);

export const me = (token: string) => call<CallerView>("/api/me", { method: "GET" }, token);

export const listKiosks = (token: string) => call<KioskView[]>("/api/kiosks", { method: "GET" }, token);

export const deviceNonce = () => call<NonceResponse>("/api/devices/nonce", { method: "GET" });

// ---- Supervisors: devices and accounts ----

const json = (body: unknown): RequestInit => ({ method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } });

export const listDevices = (token: string) => call<DeviceView[]>("/api/devices", { method: "GET" }, token);
export const createEnrolment = (token: string, kioskId: string) => call<EnrolmentResponse>(`/api/kiosks/${encodeURIComponent(kioskId)}/enrolments`, { method: "POST" }, token);
export const revokeDevice = (token: string, deviceId: string) => call<void>(`/api/devices/${encodeURIComponent(deviceId)}`, { method: "DELETE" }, token);
export const listAccounts = (token: string) => call<AccountView[]>("/api/accounts", { method: "GET" }, token);
export const createAccount = (token: string, id: string, role: string, password?: string) =>
  call<AccountCreated>("/api/accounts", json({ id, role, password: password || undefined }), token);
export const removeAccount = (token: string, id: string) => call<void>(`/api/accounts/${encodeURIComponent(id)}`, { method: "DELETE" }, token);
export const resetPassword = (token: string, id: string) => call<PasswordReset>(`/api/accounts/${encodeURIComponent(id)}/password`, json({}), token);

/**
 * A sign-in that renews its access token by itself: shortly before it expires, and whenever the API refuses it (a
 * logout elsewhere voids every earlier token). How it signs in again is the subclass's.
 */
export abstract class RenewingSignIn {
  constructor(public account: LoginResponse) {}

  protected abstract signInAgain(): Promise<LoginResponse>;

  async token(renew = false): Promise<string> {
    if (renew || Date.parse(this.account.expiresAt) - Date.now() < 120_000) {
      this.account = await this.signInAgain();
    }
    return this.account.accessToken;
  }
}

/**
 * A password sign-in kept for as long as the page is open (in memory only), so an unattended kiosk or a wall
 * dashboard stays signed in. A changed password or a removed account ends it: login says 401.
 */
export class PasswordSignIn extends RenewingSignIn {
  constructor(account: LoginResponse, private readonly password: string) { super(account); }

  protected signInAgain(): Promise<LoginResponse> { return login(this.account.id, this.password); }
}
