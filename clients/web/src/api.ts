// The HTTP half of RailCloud, as the pages use it.

export interface IceServer { urls: string[]; username?: string; credential?: string }
export interface Login { accessToken: string; expiresAt: string; role: string; id: string }
export interface Negotiated { url: string; expiresAt: string; iceServers: IceServer[] }
export interface CrewOnDuty { crewId: string; name?: string; at: string }
export interface KioskView { kioskId: string; online: boolean; lastSeen?: string; monitoredBy?: string; crew: CrewOnDuty[] }

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) { super(message); }
}

// Locally the pages and the API share an origin; in Azure the pages are a static site and config.json (written
// at deployment) names the API's base URL.
let apiBase: Promise<string> | undefined;
function apiBaseUrl(): Promise<string> {
  apiBase ??= fetch("/config.json")
    .then((r) => (r.ok ? r.json() : {}))
    .then((c: { apiBaseUrl?: string }) => (c.apiBaseUrl ?? "").replace(/\/$/, ""))
    .catch(() => "");
  return apiBase;
}

async function call<T>(path: string, init: RequestInit, token?: string): Promise<T> {
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
  call<Login>("/api/login", { method: "POST", body: JSON.stringify({ id, password }), headers: { "Content-Type": "application/json" } });

export const negotiate = (token: string) => call<Negotiated>("/api/negotiate", { method: "POST" }, token);

export const logout = (token: string) => call<void>("/api/logout", { method: "POST" }, token);

export const listKiosks = (token: string) => call<KioskView[]>("/api/kiosks", { method: "GET" }, token);
