// The monitor dashboard: live kiosk list, several kiosks at once in a grid (one session each), a stats overlay
// per tile, a frozen-video warning, an event timeline, and every refusal in plain words.
import { ApiError, listKiosks, webConfig, type KioskView } from "./api";
import type { AccountInfo } from "@azure/msal-browser";
import { Signaling, explain, endReasons, rtcConfiguration, onSignIn, showSignedOut, type ServerMessage, type TokenSource } from "./signaling";
import { $, el, addToTimeline, setStatus, time } from "./ui";
import { startConsole, stopConsole } from "./console";

const status = $("#status");
const timeline = $("#timeline");
const banner = $("#banner");
const signInForm = $<HTMLFormElement>("#sign-in");
const signInError = $("#sign-in-error");
const kioskRows = $("#kiosks tbody");
const grid = $("#grid");
const relayOnly = $<HTMLInputElement>("#relay-only");
const signOut = $<HTMLButtonElement>("#sign-out");

interface TileStats { state: string; path: string; bitrateKbps: number; fps: number; lost: number; rttMs: number; codec: string; framesDecoded: number; width: number; height: number; frozen: boolean }

interface Tile {
  kioskId: string;
  /** The person asked to watch this kiosk and has not pressed Stop: the tile tries again when it can. */
  wanted: boolean;
  /** The kiosk answered without video: no frozen-video warning, no "connected" wording. */
  noCamera?: boolean;
  restartTimer?: number;
  sessionId?: string;
  pc?: RTCPeerConnection;
  pending: RTCIceCandidateInit[];
  element: HTMLElement;
  video: HTMLVideoElement;
  overlay: HTMLElement;
  message: HTMLElement;
  stats: TileStats;
  lastBytes: number;
  lastFrames: number;
  lastFramesChangedAt: number;
  timer?: number;
}

// Where access tokens come from: the password sign-in, or MSAL after "Sign in with Microsoft".
let tokens: TokenSource = async () => { throw new ApiError(401, "unauthorized", "Not signed in."); };
let refresher: number | undefined;
let monitorId = "";
let signaling: Signaling | undefined;
const kiosks = new Map<string, KioskView>();
const tiles = new Map<string, Tile>();

// Remember the choice of relay-only ICE (also settable with ?relay=1, for checking TURN).
relayOnly.checked = new URLSearchParams(location.search).get("relay") === "1";
relayOnly.addEventListener("change", () => {
  // A running tile keeps the path it has; say so instead of leaving people to wonder.
  if ([...tiles.values()].some((t) => t.sessionId)) {
    addToTimeline(timeline, `Relay only is ${relayOnly.checked ? "on" : "off"} for tiles started from now on; press Stop and Start to apply it to a running tile.`);
  }
});

onSignIn(signInForm, signInError, status, ["monitor", "supervisor"], "monitor", async (signIn) => {
  tokens = (renew) => signIn.token(renew);
  await connect(signIn.account.id);
});

async function connect(id: string): Promise<void> {
  monitorId = id;
  signaling = new Signaling(tokens, { onMessage, onConnected, onDisconnected, onSignedOut });
  await signaling.start();
  $("#monitor-id").textContent = monitorId;
  window.clearInterval(refresher);
  refresher = window.setInterval(() => void refreshKiosks(), 10_000);
  void startConsole(tokens).catch(() => undefined);
  signOut.hidden = false;
}

// Signing out stops this dashboard (its sessions end, the kiosks are told) and forgets the in-memory sign-in; other
// screens signed in with the same account stay as they are.
signOut.addEventListener("click", () => {
  const active = signaling;
  signaling = undefined;
  stopEverything();
  active?.stop();
  tokens = async () => { throw new ApiError(401, "unauthorized", "Not signed in."); };
  kiosks.clear();
  renderKiosks();
  setStatus(status, "Signed out", "offline");
  signInForm.hidden = false;
  addToTimeline(timeline, "Signed out");
});

function stopEverything(): void {
  window.clearInterval(refresher);
  stopConsole();
  signOut.hidden = true;
  for (const kioskId of [...tiles.keys()]) closeTile(kioskId);
}

function onSignedOut(reason: string): void {
  stopEverything();
  signaling = undefined;
  showSignedOut(signInForm, signInError, status, timeline, reason);
}

// With Entra ID set up (config.json names the app), staff can sign in with their organisation account instead.
void webConfig().then(async (config) => {
  if (!config.entra) return;
  const { PublicClientApplication, InteractionRequiredAuthError } = await import("@azure/msal-browser");
  // MSAL's popup lands on auth-redirect.html, which hands the answer back to this page and closes.
  const msal = new PublicClientApplication({
    auth: {
      clientId: config.entra.clientId,
      authority: config.entra.authority,
      knownAuthorities: config.entra.knownAuthorities ?? [],
      redirectUri: `${location.origin}/auth-redirect.html`,
    },
  });
  await msal.initialize();
  const entra = config.entra;
  const button = $<HTMLButtonElement>("#sign-in-entra");
  button.hidden = false;
  let who: AccountInfo | null = null;
  const entraTokens: TokenSource = async (renew) => {
    if (!who) throw new ApiError(401, "unauthorized", "Not signed in.");
    try {
      return (await msal.acquireTokenSilent({ account: who, scopes: [entra.scope], forceRefresh: renew })).accessToken;
    } catch (error) {
      if (error instanceof InteractionRequiredAuthError) return (await msal.acquireTokenPopup({ account: who, scopes: [entra.scope] })).accessToken;
      throw error;
    }
  };
  button.addEventListener("click", async () => {
    signInError.textContent = "";
    try {
      setStatus(status, "Signing in…", "connecting");
      const result = await msal.loginPopup({ scopes: [entra.scope] });
      who = result.account;
      tokens = entraTokens;
      await connect((who.username ?? "").split("@")[0]);
      signInForm.hidden = true;
    } catch (error) {
      setStatus(status, "Signed out", "offline");
      signInError.textContent = ApiError.isRefusal(error) && who
        ? `Microsoft sign-in failed: ${who.username} has no RailCloud Monitor or Supervisor role. Ask your administrator to assign one.`
        : `Microsoft sign-in failed: ${(error as Error).message}`;
      who = null;
    }
  });
});

function onConnected(): void {
  setStatus(status, "Connecting…", "connecting");
  void signaling?.send("register-monitor", {}).catch((e) => showError(`Could not register: ${e.message}`));
}

function onDisconnected(reason: string): void {
  setStatus(status, "Offline – reconnecting…", "offline");
  addToTimeline(timeline, reason ? `Connection lost (${reason}); reconnecting` : "Connection lost; reconnecting", "error");
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered":
      // The backend says who we are (an Entra ID user's RailCloud id may differ from their user name).
      if (typeof message.id === "string") {
        monitorId = message.id;
        $("#monitor-id").textContent = monitorId;
      }
      setStatus(status, "Connected", "online");
      for (const kiosk of message.kiosks as KioskView[]) kiosks.set(kiosk.kioskId, kiosk);
      renderKiosks();
      break;
    case "kiosk-online":
    case "kiosk-offline": {
      const kiosk: KioskView = kiosks.get(message.kioskId) ?? { kioskId: message.kioskId, online: false, crew: [] };
      kiosk.online = message.event === "kiosk-online";
      kiosk.lastSeen = message.at;
      kiosks.set(kiosk.kioskId, kiosk);
      renderKiosks();
      addToTimeline(timeline, `${message.kioskId} ${kiosk.online ? "came online" : "went offline"}`);
      const waiting = tiles.get(message.kioskId);
      if (kiosk.online && waiting?.wanted && !waiting.sessionId) {
        waiting.message.textContent = `${message.kioskId} is back; reconnecting…`;
        void startMonitoring(message.kioskId);
      }
      break;
    }
    case "crew-sign-on":
    case "crew-sign-off": {
      const kiosk = kiosks.get(message.kioskId);
      if (kiosk) {
        kiosk.crew = kiosk.crew.filter((c) => c.crewId !== message.crewId);
        if (message.event === "crew-sign-on") kiosk.crew.push({ crewId: message.crewId, name: message.name, at: message.at });
        renderKiosks();
      }
      const who = message.name ? `${message.crewId} (${message.name})` : message.crewId;
      addToTimeline(timeline, `${message.kioskId}: crew ${who} signed ${message.event === "crew-sign-on" ? "on" : "off"}`, "crew");
      break;
    }
    case "monitoring-started":
      void beginSession(message);
      break;
    case "monitoring-stopped":
      if (tiles.get(message.kioskId)?.wanted) stopMedia(tiles.get(message.kioskId)!);
      else closeTile(message.kioskId);
      addToTimeline(timeline, `Stopped watching ${message.kioskId}`);
      setWatchedBy(message.kioskId, undefined);
      break;
    case "monitoring-ended": {
      const tile = tiles.get(message.kioskId);
      const reason = endReasons[message.reason] ?? message.reason;
      if (tile && tile.sessionId === message.sessionId) {
        stopMedia(tile);
        tile.message.textContent = `Session ended: ${reason}.`;
        tile.element.dataset.state = "ended";
        // A kiosk that reconnected is online again at once; otherwise the tile waits for it to come back online.
        if (tile.wanted && message.reason === "replaced") window.setTimeout(() => void startMonitoring(message.kioskId), 500);
      }
      setWatchedBy(message.kioskId, undefined);
      addToTimeline(timeline, `${message.kioskId}: session ended, ${reason}`, "session");
      break;
    }
    case "answer": {
      const tile = tiles.get(message.fromId);
      if (tile?.pc && tile.sessionId === message.sessionId) {
        void tile.pc.setRemoteDescription(message.answer).then(async () => {
          for (const candidate of tile.pending.splice(0)) await tile.pc!.addIceCandidate(candidate).catch(() => undefined);
        });
        // A kiosk without a camera answers without sending video: say so rather than show a black tile.
        if (!/^a=(sendonly|sendrecv)\r?$/m.test(message.answer.sdp ?? "")) {
          tile.message.textContent = `${message.fromId} has no camera (it is missing or access to it was denied).`;
          tile.element.dataset.state = "no-camera";
          tile.noCamera = true;
        }
      }
      break;
    }
    case "ice-candidate": {
      const tile = tiles.get(message.fromId);
      if (tile?.pc && tile.sessionId === message.sessionId) {
        if (tile.pc.remoteDescription) void tile.pc.addIceCandidate(message.candidate).catch(() => undefined);
        else tile.pending.push(message.candidate);
      }
      break;
    }
    case "heartbeat-pong":
      break;
    case "error": {
      const text = explain(message.code, message.message);
      const kioskId = (message.requestEvent === "start-monitoring" && pendingStart) || undefined;
      if (kioskId) {
        const tile = tiles.get(kioskId);
        if (tile && !tile.sessionId) {
          tile.message.textContent = text;
          tile.element.dataset.state = "refused";
        }
        pendingStart = undefined;
      }
      showError(kioskId ? `${kioskId}: ${text}` : text);
      break;
    }
  }
}

let pendingStart: string | undefined;

async function startMonitoring(kioskId: string): Promise<void> {
  // A second press (a double click) while the first start is on its way changes nothing.
  if (pendingStart === kioskId) return;
  hideError();
  const tile = tiles.get(kioskId) ?? createTile(kioskId);
  tile.wanted = true;
  tile.message.textContent = "Connecting…";
  tile.element.dataset.state = "connecting";
  const w = window as any;
  w.railcloudClickedAt ??= {};
  w.railcloudClickedAt[kioskId] = performance.now();
  if (w.railcloudFirstFrameAt) delete w.railcloudFirstFrameAt[kioskId];
  pendingStart = kioskId;
  try {
    await signaling?.send("start-monitoring", { kioskId });
  } catch (error) {
    pendingStart = undefined;
    tile.message.textContent = `Could not ask RailCloud to start (${(error as Error).message}); press Start to try again.`;
    tile.element.dataset.state = "refused";
  }
}

async function stopMonitoring(kioskId: string): Promise<void> {
  const tile = tiles.get(kioskId);
  if (tile) tile.wanted = false;
  if (tile?.sessionId) await signaling?.send("stop-monitoring", { kioskId });
  else closeTile(kioskId);
}

async function beginSession(message: ServerMessage): Promise<void> {
  pendingStart = undefined;
  const tile = tiles.get(message.kioskId) ?? createTile(message.kioskId);
  stopMedia(tile);
  tile.sessionId = message.sessionId;
  tile.stats = { state: "new", path: "–", bitrateKbps: 0, fps: 0, lost: 0, rttMs: 0, codec: "–", framesDecoded: 0, width: 0, height: 0, frozen: false };
  tile.noCamera = false;
  tile.lastBytes = 0;
  tile.lastFrames = 0;
  tile.element.dataset.state = "connecting";
  tile.message.textContent = "Waiting for video…";
  setWatchedBy(message.kioskId, monitorId);
  addToTimeline(timeline, `Watching ${message.kioskId}`, "session");
  const pc = new RTCPeerConnection(rtcConfiguration(message.iceServers ?? [], relayOnly.checked));
  tile.pc = pc;
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => {
    tile.video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    void tile.video.play().catch(() => undefined);
  };
  pc.onicecandidate = (e) => {
    if (e.candidate) void signaling?.send("ice-candidate", { targetId: message.kioskId, candidate: e.candidate.toJSON() }).catch(() => undefined);
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected" && !tile.noCamera) tile.message.textContent = "";
    if (pc.connectionState === "failed" && tile.pc === pc) {
      // ICE restart first; if the media path is not back within 10 s, renegotiate from scratch (a new session).
      tile.message.textContent = "Connection lost; trying to restore it…";
      pc.restartIce();
      void sendOffer(tile, message.kioskId, true);
      window.clearTimeout(tile.restartTimer);
      tile.restartTimer = window.setTimeout(() => {
        if (tile.pc === pc && pc.connectionState !== "connected" && tile.wanted) {
          tile.message.textContent = "Still no video; starting over…";
          void signaling?.send("stop-monitoring", { kioskId: message.kioskId }).then(() => window.setTimeout(() => void startMonitoring(message.kioskId), 500));
        }
      }, 10_000);
    }
  };
  await sendOffer(tile, message.kioskId, false);
  tile.timer = window.setInterval(() => void updateStats(tile), 1000);
}

async function sendOffer(tile: Tile, kioskId: string, iceRestart: boolean): Promise<void> {
  const pc = tile.pc!;
  const offer = await pc.createOffer({ iceRestart });
  await pc.setLocalDescription(offer);
  await signaling?.send("offer", { targetId: kioskId, offer: { type: "offer", sdp: offer.sdp } });
}

function createTile(kioskId: string): Tile {
  const video = el("video", { autoplay: true, muted: true, playsInline: true });
  video.setAttribute("aria-label", `Live video from ${kioskId}`);
  // Time to first frame, for the benchmark: the first decoded frame of each session shows as "loadeddata".
  video.addEventListener("loadeddata", () => {
    const w = window as any;
    w.railcloudFirstFrameAt ??= {};
    w.railcloudFirstFrameAt[kioskId] ??= performance.now();
  });
  const overlay = el("dl", { className: "stats" });
  const message = el("p", { className: "tile-message" });
  message.setAttribute("role", "status");
  const stop = el("button", { type: "button", textContent: "Stop" });
  stop.addEventListener("click", () => void stopMonitoring(kioskId));
  const element = el("article", { className: "tile", dataset: { kiosk: kioskId, state: "connecting" } },
    el("header", {}, el("h3", { textContent: kioskId }), stop), video, overlay, message);
  element.setAttribute("aria-label", `Kiosk ${kioskId}`);
  grid.append(element);
  const tile: Tile = { kioskId, wanted: true, pending: [], element, video, overlay, message, lastBytes: 0, lastFrames: 0, lastFramesChangedAt: performance.now(),
    stats: { state: "new", path: "–", bitrateKbps: 0, fps: 0, lost: 0, rttMs: 0, codec: "–", framesDecoded: 0, width: 0, height: 0, frozen: false } };
  tiles.set(kioskId, tile);
  return tile;
}

function stopMedia(tile: Tile): void {
  window.clearInterval(tile.timer);
  window.clearTimeout(tile.restartTimer);
  tile.pc?.close();
  tile.pc = undefined;
  tile.sessionId = undefined;
  tile.pending = [];
  tile.video.srcObject = null;
}

function closeTile(kioskId: string): void {
  const tile = tiles.get(kioskId);
  if (!tile) return;
  stopMedia(tile);
  tile.element.remove();
  tiles.delete(kioskId);
}

async function updateStats(tile: Tile): Promise<void> {
  const pc = tile.pc;
  if (!pc) return;
  const report = await pc.getStats();
  const s = tile.stats;
  s.state = pc.connectionState;
  let pairId: string | undefined;
  report.forEach((r: any) => { if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId; });
  report.forEach((r: any) => {
    if (!pairId && r.type === "candidate-pair" && r.state === "succeeded" && r.nominated) pairId = r.id;
  });
  const pair: any = pairId ? report.get(pairId) : undefined;
  if (pair) {
    const local: any = report.get(pair.localCandidateId);
    const remote: any = report.get(pair.remoteCandidateId);
    s.path = local?.candidateType === "relay" || remote?.candidateType === "relay" ? "relay" : local?.candidateType ?? "–";
    s.rttMs = Math.round((pair.currentRoundTripTime ?? 0) * 1000);
  }
  report.forEach((r: any) => {
    if (r.type === "inbound-rtp" && r.kind === "video") {
      const bytes = r.bytesReceived ?? 0;
      s.bitrateKbps = Math.max(0, Math.round(((bytes - tile.lastBytes) * 8) / 1000));
      tile.lastBytes = bytes;
      s.fps = Math.round(r.framesPerSecond ?? 0);
      s.lost = r.packetsLost ?? 0;
      s.framesDecoded = r.framesDecoded ?? 0;
      s.width = r.frameWidth ?? 0;
      s.height = r.frameHeight ?? 0;
      const codec: any = r.codecId ? report.get(r.codecId) : undefined;
      s.codec = codec?.mimeType?.replace("video/", "") ?? "–";
    }
  });
  const now = performance.now();
  if (s.framesDecoded !== tile.lastFrames) {
    tile.lastFrames = s.framesDecoded;
    tile.lastFramesChangedAt = now;
  }
  s.frozen = s.state === "connected" && s.framesDecoded > 0 && now - tile.lastFramesChangedAt > 3000;
  tile.element.dataset.state = tile.noCamera ? "no-camera" : s.frozen ? "frozen" : s.state;
  if (s.frozen) tile.message.textContent = "Video has frozen: no new frames for 3 seconds.";
  else if (s.state === "connected" && tile.message.textContent?.startsWith("Video has frozen")) tile.message.textContent = "";
  const entries: [string, string][] = [
    ["Connection", s.state], ["Path", s.path], ["Bitrate", `${s.bitrateKbps} kbit/s`], ["Frames/s", String(s.fps)],
    ["Packets lost", String(s.lost)], ["RTT", `${s.rttMs} ms`], ["Codec", s.codec], ["Size", s.width ? `${s.width}×${s.height}` : "–"],
  ];
  tile.overlay.replaceChildren(...entries.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
}

async function refreshKiosks(): Promise<void> {
  try {
    for (const kiosk of await listKiosks(await tokens(false))) kiosks.set(kiosk.kioskId, kiosk);
    renderKiosks();
  } catch { /* the next refresh will try again */ }
}

function setWatchedBy(kioskId: string, by: string | undefined): void {
  const kiosk = kiosks.get(kioskId);
  if (kiosk) {
    kiosk.monitoredBy = by;
    renderKiosks();
  }
}

function renderKiosks(): void {
  const rows = [...kiosks.values()].sort((a, b) => a.kioskId.localeCompare(b.kioskId)).map((kiosk) => {
    const watching = tiles.get(kiosk.kioskId)?.sessionId !== undefined;
    const action = el("button", { type: "button", textContent: watching ? "Stop monitoring" : "Start monitoring", disabled: !watching && !kiosk.online });
    action.setAttribute("aria-label", `${watching ? "Stop" : "Start"} monitoring ${kiosk.kioskId}`);
    action.addEventListener("click", () => void (watching ? stopMonitoring(kiosk.kioskId) : startMonitoring(kiosk.kioskId)));
    const crew = kiosk.crew.map((c) => (c.name ? `${c.crewId} (${c.name})` : c.crewId)).join(", ") || "–";
    return el("tr", { dataset: { kiosk: kiosk.kioskId, online: String(kiosk.online) } },
      el("th", { scope: "row", textContent: kiosk.kioskId }),
      el("td", { textContent: kiosk.online ? "Online" : "Offline", className: kiosk.online ? "online" : "offline" }),
      el("td", { textContent: crew }),
      el("td", { textContent: kiosk.monitoredBy ?? "–" }),
      el("td", { textContent: time(kiosk.lastSeen) }),
      el("td", {}, action));
  });
  kioskRows.replaceChildren(...rows);
}

function showError(text: string): void {
  banner.textContent = text;
  banner.hidden = false;
  addToTimeline(timeline, text, "error");
}

function hideError(): void {
  banner.hidden = true;
  banner.textContent = "";
}

// For tests and diagnostics: each tile's live numbers.
(window as any).railcloudTiles = () => Object.fromEntries([...tiles].map(([id, t]) => [id, { ...t.stats, sessionId: t.sessionId, message: t.message.textContent }]));
