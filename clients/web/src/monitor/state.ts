// What the dashboard's modules share: its elements, the sign-in's tokens, the connection, the kiosks and the tiles.
import { ApiError } from "../api";
import type { KioskView } from "../protocol";
import type { Signaling, TokenSource } from "../signaling";
import { $, addToTimeline } from "../ui";
import type { Tile } from "./tiles";

export const page = {
  status: $("#status"),
  timeline: $("#timeline"),
  banner: $("#banner"),
  grid: $("#grid"),
  relayOnly: $<HTMLInputElement>("#relay-only"),
  signInForm: $<HTMLFormElement>("#sign-in"),
  signInError: $("#sign-in-error"),
  signOut: $<HTMLButtonElement>("#sign-out"),
};

export const dash = {
  monitorId: "",
  signaling: undefined as Signaling | undefined,
  /** Where access tokens come from: the password sign-in, or MSAL after "Sign in with Microsoft". */
  tokens: (async () => { throw new ApiError(401, "unauthorized", "Not signed in."); }) as TokenSource,
  kiosks: new Map<string, KioskView>(),
  tiles: new Map<string, Tile>(),
  heartbeatSeconds: 30,
  /** The Web PubSub connection is down (or RailCloud cannot be reached): the kiosk list is what was last known. */
  stale: false,
  /** What Start and Stop do (the sessions module sets them), for the kiosk list's and the tiles' buttons. */
  actions: {
    start: (_kioskId: string, _byHand?: boolean): Promise<void> => Promise.resolve(),
    stop: (_kioskId: string): Promise<void> => Promise.resolve(),
  },
};

export function showError(text: string): void {
  page.banner.textContent = text;
  page.banner.hidden = false;
  addToTimeline(page.timeline, text, "error");
}

export function hideError(): void {
  page.banner.hidden = true;
  page.banner.textContent = "";
}
