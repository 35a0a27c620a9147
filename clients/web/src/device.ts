// An enrolled kiosk device: an ECDSA P-256 key made here with WebCrypto, not extractable, kept in IndexedDB (a
// CryptoKey survives there as it is, still not extractable, across reloads and browser restarts), and the device id
// the API gave it. The kiosk signs in with a short assertion signed by that key; nothing long-lived is stored or sent.
import { RenewingSignIn, apiUrl, call, deviceNonce } from "./api";
import type { DeviceRegistrationResponse, LoginResponse } from "./protocol";

interface StoredDevice { deviceId: string; kioskId: string; privateKey: CryptoKey }

const DB = "railcloud";
const STORE = "device";
const KEY = "current";

function database(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open(DB, 1);
    open.onupgradeneeded = () => open.result.createObjectStore(STORE);
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
}

async function transact<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest): Promise<T> {
  const db = await database();
  try {
    return await new Promise<T>((resolve, reject) => {
      const request = work(db.transaction(STORE, mode).objectStore(STORE));
      request.onsuccess = () => resolve(request.result as T);
      request.onerror = () => reject(request.error);
    });
  } finally {
    db.close();
  }
}

export const storedDevice = () => transact<StoredDevice | undefined>("readonly", (s) => s.get(KEY));
export const forgetDevice = () => transact<void>("readwrite", (s) => s.delete(KEY));

function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return btoa(String.fromCharCode(...view)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/** Enrols this browser as a device of the kiosk the code was made for; keeps the key and asks that it be kept. */
export async function enrol(code: string, name: string | undefined): Promise<StoredDevice> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);   // a public key is always exportable
  const registered = await call<DeviceRegistrationResponse>("/api/devices", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code: code.trim(), publicKey: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, name }),
  });
  const device = { deviceId: registered.deviceId, kioskId: registered.kioskId, privateKey: pair.privateKey };
  await transact<void>("readwrite", (s) => s.put(device, KEY));
  // Without this the browser may evict the site's storage under pressure, and with it the key.
  await navigator.storage?.persist?.().catch(() => false);
  return device;
}

/**
 * The kiosk's sign-in as an enrolled device: a fresh server nonce, an ES256 assertion signed with the stored key,
 * and the usual short-lived token; renewed the same way shortly before it expires or when the API refuses it.
 */
export class DeviceSignIn extends RenewingSignIn {
  private constructor(account: LoginResponse, private readonly device: StoredDevice) { super(account); }

  static async start(device: StoredDevice): Promise<DeviceSignIn> {
    return new DeviceSignIn(await DeviceSignIn.signIn(device), device);
  }

  protected signInAgain(): Promise<LoginResponse> { return DeviceSignIn.signIn(this.device); }

  private static async signIn(device: StoredDevice): Promise<LoginResponse> {
    const { nonce } = await deviceNonce();
    const header = base64url(utf8(JSON.stringify({ alg: "ES256", typ: "JWT" })));
    const payload = base64url(utf8(JSON.stringify({
      sub: device.deviceId,
      aud: await apiUrl("/api/devices/token"),
      iat: Math.floor(Date.now() / 1000),
      jti: base64url(crypto.getRandomValues(new Uint8Array(16))),
      nonce,
    })));
    // WebCrypto's ECDSA signature is r‖s, 64 bytes: exactly JWS's ES256 form.
    const signature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, device.privateKey, utf8(`${header}.${payload}`));
    return call<LoginResponse>("/api/devices/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ assertion: `${header}.${payload}.${base64url(signature)}` }),
    });
  }
}
