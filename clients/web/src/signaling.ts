// The Web PubSub half: one reliable connection that reconnects by itself, with RailCloud's events on top.
import { WebPubSubClient, WebPubSubJsonReliableProtocol } from "@azure/web-pubsub-client";
import { login, negotiate, ApiError, PasswordSignIn } from "./api";
import type { ClientEvent, ClientEventData, EndReason, ErrorCode, IceServer, Role, ServerMessage } from "./protocol";
import { addToTimeline, setStatus } from "./ui";

export interface SignalingHandlers {
  onMessage(message: ServerMessage): void;
  onConnected(): void;
  onDisconnected(reason: string): void;
  /** The sign-in could not be renewed (password changed, account removed, role taken away, device removed): the connection has stopped. */
  onSignedOut(reason: string, code: string): void;
}

/** A current access token; <c>renew</c> asks for a fresh one because the API refused the last. */
export type TokenSource = (renew: boolean) => Promise<string>;

export class Signaling {
  private client: WebPubSubClient;
  private stopped = false;
  iceServers: IceServer[] = [];

  /** <paramref name="token"/> gives a current access token (ours, or a fresh Entra ID token) on every (re)connect. */
  constructor(private token: TokenSource, private handlers: SignalingHandlers) {
    this.client = new WebPubSubClient(
      {
        getClientAccessUrl: async () => {
          const negotiated = await this.negotiate();
          this.iceServers = negotiated.iceServers;
          return negotiated.url;
        },
      },
      {
        protocol: WebPubSubJsonReliableProtocol(),
        autoReconnect: true,
        reconnectRetryOptions: { maxRetries: Number.MAX_SAFE_INTEGER, retryDelayInMs: 1000, maxRetryDelayInMs: 15000, mode: "Exponential" },
      },
    );
    this.client.on("connected", () => handlers.onConnected());
    this.client.on("disconnected", (e) => { if (!this.stopped) handlers.onDisconnected(e.message?.message ?? ""); });
    // Replies and messages to one connection come from the server; broadcasts to monitors come through their group.
    // RailCloud sends only the contract's messages, each with its event.
    const deliver = (data: unknown) => {
      if (data && typeof data === "object" && typeof (data as { event?: unknown }).event === "string") handlers.onMessage(data as ServerMessage);
    };
    this.client.on("server-message", (e) => deliver(e.message.data));
    this.client.on("group-message", (e) => deliver(e.message.data));
  }

  start(): Promise<void> { return this.client.start(); }

  /** Negotiates; a refused token is renewed once. When even a renewed sign-in is refused, the page is signed out. */
  private async negotiate() {
    try {
      return await negotiate(await this.token(false));
    } catch (error) {
      if (!ApiError.isRefusal(error)) throw error;
    }
    try {
      return await negotiate(await this.token(true));
    } catch (error) {
      if (ApiError.isRefusal(error) && !this.stopped) {
        this.stopped = true;
        window.setTimeout(() => this.client.stop(), 0); // not from inside the client's own reconnect step
        this.handlers.onSignedOut(error.code === "device-revoked" ? error.message : error.status === 401 ? "the sign-in is no longer valid" : error.message, error.code);
      }
      throw error;
    }
  }

  stop(): void { this.stopped = true; this.client.stop(); }

  /** Sends an event with its data as the contract has it; the backend's answer (or refusal) arrives as a server message. */
  async send<E extends ClientEvent>(event: E, data: ClientEventData[E]): Promise<void> {
    await this.client.sendEvent(event, data, "json");
  }
}

/**
 * The heartbeat of a page: every interval while all is well; when one is not acknowledged (RailCloud's API or
 * storage cannot be reached, or the connection is down) it says so and tries again after 2, 4, 8 s (at most 10 s),
 * so presence and sessions are refreshed as soon as RailCloud is back. The video between the peers does not depend on it.
 */
export class Heartbeat {
  private timer: number | undefined;
  private failures = 0;
  private seconds = 30;
  private inFlight = false;
  private refusedInFlight = false;

  constructor(private signaling: () => Signaling | undefined, private onHealth: (reachable: boolean) => void) {}

  start(seconds: number): void {
    this.seconds = Math.max(1, seconds || 30);
    this.schedule(this.seconds * 1000);
  }

  stop(): void { window.clearTimeout(this.timer); this.timer = undefined; }

  /** The backend answered a heartbeat with a refusal such as "unavailable" (its storage is down): count it as not delivered. */
  refused(): void {
    if (this.inFlight) { this.refusedInFlight = true; return; }   // the reply came before the ack: beat() decides
    this.failures++;
    this.onHealth(false);
    this.schedule(Math.min(10, 2 ** this.failures) * 1000);
  }

  private schedule(ms: number): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.beat(), ms);
  }

  private async beat(): Promise<void> {
    const signaling = this.signaling();
    if (!signaling) return;
    this.inFlight = true;
    this.refusedInFlight = false;
    let delivered = false;
    try {
      await signaling.send("heartbeat-ping", {});
      delivered = true;
    } catch { /* not delivered */ }
    this.inFlight = false;
    if (delivered && !this.refusedInFlight) {
      this.failures = 0;
      this.onHealth(true);
      this.schedule(this.seconds * 1000);
    } else {
      this.refused();
    }
  }
}

/**
 * Plain words for every refusal code of the contract, for people at a screen; null where the server's own message
 * says it best (it names the account or explains the device's sign-in).
 */
const words: Record<ErrorCode, string | null> = {
  "unauthorized": "You are not signed in (or your sign-in expired). Sign in again.",
  "forbidden": "This account is not allowed to do that.",
  "not-registered": "The connection is still being set up; try again in a moment.",
  "unknown-kiosk": "There is no such kiosk.",
  "kiosk-offline": "That kiosk is offline.",
  "kiosk-busy": "Someone else is already watching that kiosk.",
  "no-session": "There is no monitoring session for that kiosk.",
  "not-session-member": "You are not part of that monitoring session.",
  "invalid-payload": "The request was not understood.",
  "payload-too-large": "The request was too large.",
  "rate-limited": "Too many requests; slow down and try again.",
  "unavailable": "RailCloud is unavailable right now; it will be retried.",
  "not-on-duty": "That crew member is not signed on here.",
  "crew-full": "This kiosk already has the most crew on duty it can hold (100); sign someone off first.",
  "enrolment-invalid": "This enrolment code is wrong, has expired or was used already. Ask a supervisor for a new one.",
  "assertion-invalid": null,
  "nonce-invalid": null,
  "assertion-replayed": null,
  "device-revoked": "This device was removed; ask a supervisor for a new enrolment code.",
  "device-unknown": "This device is not enrolled; ask a supervisor for a new enrolment code.",
  "account-exists": null,
  "unknown-account": null,
};

/** A refusal in plain words: the code's, or the server's own message for a code outside the contract. */
export function explain(code: string, fallback?: string): string {
  return (words as Record<string, string | null | undefined>)[code] ?? fallback ?? code;
}

/** Why a session ended, in plain words. */
export const endReasons: Record<EndReason, string> = {
  "stopped": "monitoring was stopped",
  "kiosk-disconnected": "the kiosk disconnected",
  "monitor-disconnected": "the monitor disconnected",
  "expired": "nothing was heard from the other side for too long",
  "replaced": "the kiosk reconnected",
  "taken-over": "the same monitor account started watching it on another screen or connection",
};

/**
 * Wires a page's sign-in form: logs in, checks the role, then lets the page connect. Errors are shown in plain
 * words next to the form; the form hides once signed in.
 */
export function onSignIn(
  form: HTMLFormElement, error: HTMLElement, status: HTMLElement, roles: Role[], roleName: string,
  connect: (signIn: PasswordSignIn) => Promise<void>,
): void {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    error.textContent = "";
    try {
      setStatus(status, "Signing in…", "connecting");
      const password = String(data.get("password"));
      const account = await login(String(data.get("id")), password);
      if (!roles.includes(account.role)) throw new ApiError(403, "forbidden", `This is not a ${roleName} account.`);
      await connect(new PasswordSignIn(account, password));
      form.reset();
      form.hidden = true;
    } catch (e) {
      setStatus(status, "Signed out", "offline");
      error.textContent = e instanceof ApiError
        ? (e.status === 401 ? "Unknown id or wrong password." : e.status === 403 ? e.message : explain(e.code, e.message))
        : `Could not connect: ${(e as Error).message}`;
    }
  });
}

/** Shows the sign-in form again, saying why (there and on the timeline), after a sign-in that could not be renewed. */
export function showSignedOut(form: HTMLFormElement, error: HTMLElement, status: HTMLElement, timeline: HTMLElement, reason: string): void {
  setStatus(status, "Signed out", "offline");
  form.hidden = false;
  error.textContent = `Signed out: ${reason}. Sign in again.`;
  addToTimeline(timeline, `Signed out: ${reason}`, "error");
}
