// The monitor dashboard: live kiosk list, several kiosks at once in a grid (one session each), a stats overlay
// per tile, a frozen-video warning, an event timeline, and every refusal in plain words.
import { ApiError, listKiosks, webConfig, type KioskView } from "./api";
import type { AccountInfo } from "@azure/msal-browser";
import { Heartbeat, Signaling, explain, endReasons, rtcConfiguration, onSignIn, showSignedOut, type ServerMessage, type TokenSource } from "./signaling";
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
const kioskSearch = $<HTMLInputElement>("#kiosk-search");
const onlineOnly = $<HTMLInputElement>("#online-only");
const wallMode = $<HTMLInputElement>("#wall-mode");
const watchAll = $<HTMLButtonElement>("#watch-all");
const fullscreenGrid = $<HTMLButtonElement>("#fullscreen-grid");
const kioskList = $<HTMLDetailsElement>("#kiosk-list");
const kioskSummary = $("#kiosk-summary");

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
  /** No answer from the kiosk yet: after 15 s the tile says so and offers to try again. */
  answerTimer?: number;
  /** The kiosk did not answer in time: the tile says so (and keeps saying so) until an answer comes or it starts over. */
  notAnswering?: boolean;
  /** The person pressed Start (not a resume or a remembered wall): refusals go to the banner, not just the tile. */
  byHand?: boolean;
  retries?: number;
  badge: HTMLElement;
}

// Where access tokens come from: the password sign-in, or MSAL after "Sign in with Microsoft".
let tokens: TokenSource = async () => { throw new ApiError(401, "unauthorized", "Not signed in."); };
let refresher: number | undefined;
let monitorId = "";
let signaling: Signaling | undefined;
const kiosks = new Map<string, KioskView>();
const tiles = new Map<string, Tile>();
let heartbeatSeconds = 30;
/** The Web PubSub connection is down (or RailCloud cannot be reached): the kiosk list is what was last known. */
let stale = false;
let registeredOnce = false;
const heartbeat = new Heartbeat(() => signaling, (reachable) => {
  if (reachable) {
    if (stale) { stale = false; setStatus(status, "Connected", "online"); void refreshKiosks(); }
  } else {
    stale = true;
    setStatus(status, [...tiles.values()].some((t) => t.sessionId) ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
    renderKiosks();
  }
});

// ---- What this browser remembers: the wall's layout, filters, and which kiosks it watches ----

interface Remembered { watched: string[]; wall: boolean; onlineOnly: boolean; search: string; listOpen: boolean }

function rememberedKey(): string { return `railcloud.monitor.${monitorId}`; }

function loadRemembered(): Remembered {
  const fallback: Remembered = { watched: [], wall: false, onlineOnly: false, search: "", listOpen: true };
  try {
    const stored = JSON.parse(localStorage.getItem(rememberedKey()) ?? "null");
    if (!stored || typeof stored !== "object") return fallback;
    return {
      watched: Array.isArray(stored.watched) ? stored.watched.filter((k: unknown) => typeof k === "string").slice(0, 64) : [],
      wall: stored.wall === true, onlineOnly: stored.onlineOnly === true, search: typeof stored.search === "string" ? stored.search : "", listOpen: stored.listOpen !== false,
    };
  } catch {
    return fallback;
  }
}

function remember(): void {
  if (!monitorId) return;
  const state: Remembered = {
    watched: [...tiles.values()].filter((t) => t.wanted).map((t) => t.kioskId),
    wall: wallMode.checked, onlineOnly: onlineOnly.checked, search: kioskSearch.value, listOpen: kioskList.open,
  };
  try { localStorage.setItem(rememberedKey(), JSON.stringify(state)); } catch { /* private mode: nothing is remembered */ }
}

function applyLayout(): void {
  document.body.classList.toggle("wall", wallMode.checked);
  fitGrid();
}

/** In wall mode the grid fills the screen: 1, 4, 9, 16… tiles in the squarest arrangement that fits. */
function fitGrid(): void {
  const n = Math.max(1, tiles.size);
  const columns = Math.ceil(Math.sqrt(n));
  grid.style.setProperty("--columns", String(columns));
  grid.style.setProperty("--rows", String(Math.ceil(n / columns)));
}

wallMode.addEventListener("change", () => { applyLayout(); remember(); });
onlineOnly.addEventListener("change", () => { renderKiosks(); remember(); });
kioskSearch.addEventListener("input", () => { renderKiosks(); remember(); });
kioskList.addEventListener("toggle", () => remember());
watchAll.addEventListener("click", () => {
  for (const kiosk of [...kiosks.values()].sort((a, b) => a.kioskId.localeCompare(b.kioskId))) {
    if (kiosk.online && !kiosk.monitoredBy && !tiles.get(kiosk.kioskId)?.sessionId) void startMonitoring(kiosk.kioskId, false);
  }
});
fullscreenGrid.addEventListener("click", () => void toggleFullscreen(grid));

async function toggleFullscreen(element: HTMLElement): Promise<void> {
  try {
    if (document.fullscreenElement === element) await document.exitFullscreen();
    else await element.requestFullscreen();
  } catch (error) {
    addToTimeline(timeline, `Fullscreen is not available here: ${(error as Error).message}`, "error");
  }
}

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
  heartbeat.stop();
  registeredOnce = false;
  window.clearInterval(refresher);
  stopConsole();
  signOut.hidden = true;
  for (const kioskId of [...tiles.keys()]) closeTile(kioskId, false);
}

function onSignedOut(reason: string): void {
  stopEverything();
  signaling = undefined;
  showSignedOut(signInForm, signInError, status, timeline, reason);
}

// With Entra ID set up (config.json names the app), staff can sign in with their organisation account instead.
void webConfig().then(async (config) => {
  if (!config.entra) return;
  const { PublicClientApplication, InteractionRequiredAuthError, AuthError } = await import("@azure/msal-browser");
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
  // MSAL could not renew without the person: Entra wants interaction, or the hidden renewal frame never came back
  // (timed_out). Either way a wall dashboard asks, keeps its video, and goes on once the person has signed in again.
  const needsPerson = (error: unknown) =>
    error instanceof InteractionRequiredAuthError || (error instanceof AuthError && error.errorCode === "timed_out");
  let asking: Promise<string> | undefined;
  const askToSignInAgain = (why: string): Promise<string> => asking ??= new Promise<string>((resolve) => {
    const renew = $("#renew-sign-in");
    $("#renew-message").textContent = `Your Microsoft sign-in needs renewing (${why}); video continues.`;
    renew.hidden = false;
    setStatus(status, "Sign-in needs renewing", "degraded");
    addToTimeline(timeline, `Microsoft sign-in could not be renewed by itself (${why}); waiting for someone to sign in again`, "error");
    $<HTMLButtonElement>("#renew-entra").onclick = async () => {
      try {
        const result = await msal.acquireTokenPopup({ account: who ?? undefined, scopes: [entra.scope] });
        who = result.account;
        renew.hidden = true;
        asking = undefined;
        addToTimeline(timeline, "Microsoft sign-in renewed");
        setStatus(status, "Connected", "online");
        resolve(result.accessToken);
      } catch (error) {
        $("#renew-message").textContent = `Microsoft sign-in failed (${(error as Error).message}); video continues. Try again.`;
      }
    };
  });
  const entraTokens: TokenSource = async (renew) => {
    if (!who) throw new ApiError(401, "unauthorized", "Not signed in.");
    try {
      return (await msal.acquireTokenSilent({ account: who, scopes: [entra.scope], forceRefresh: renew })).accessToken;
    } catch (error) {
      if (needsPerson(error)) return await askToSignInAgain(error instanceof InteractionRequiredAuthError ? "Microsoft asks to sign in again" : "the renewal timed out");
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
  const resume = [...tiles.values()].flatMap((t) => (t.sessionId ? [t.sessionId] : []));
  setStatus(status, resume.length > 0 ? "Reconnecting to RailCloud… video continues" : "Connecting…", "connecting");
  // A new connection names the sessions this page still holds; their video never depended on the connection.
  void signaling?.send("register-monitor", { resume }).catch((e) => addToTimeline(timeline, `Could not register yet (${e.message}); it is tried again with the next connection`, "error"));
}

function onDisconnected(reason: string): void {
  heartbeat.stop();
  stale = true;
  const watching = [...tiles.values()].some((t) => t.sessionId);
  setStatus(status, watching ? "Reconnecting to RailCloud… video continues" : "Offline – reconnecting…", watching ? "degraded" : "offline");
  addToTimeline(timeline, reason ? `Connection to RailCloud lost (${reason}); reconnecting` : "Connection to RailCloud lost; reconnecting", "error");
  renderKiosks();
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered": {
      // The backend says who we are (an Entra ID user's RailCloud id may differ from their user name).
      if (typeof message.id === "string") {
        monitorId = message.id;
        $("#monitor-id").textContent = monitorId;
      }
      stale = false;
      setStatus(status, "Connected", "online");
      heartbeatSeconds = message.heartbeatSeconds ?? 30;
      heartbeat.start(heartbeatSeconds);
      kiosks.clear();
      for (const kiosk of message.kiosks as KioskView[]) kiosks.set(kiosk.kioskId, kiosk);
      const resumed: string[] = message.resumed ?? [];
      for (const tile of [...tiles.values()]) {
        if (!tile.sessionId) continue;
        if (resumed.includes(tile.sessionId)) continue;
        // Ended while we were away: start again quietly if the person still wants it.
        stopMedia(tile);
        if (tile.wanted) void startMonitoring(tile.kioskId, false);
      }
      if (resumed.length > 0) addToTimeline(timeline, `Back online; ${resumed.length} session(s) resumed (their video never stopped)`, "session");
      if (!registeredOnce) {
        registeredOnce = true;
        // A wall comes back to the same picture: the kiosks it watched before a reload start by themselves.
        const remembered = loadRemembered();
        wallMode.checked = remembered.wall;
        onlineOnly.checked = remembered.onlineOnly;
        kioskSearch.value = remembered.search;
        kioskList.open = remembered.listOpen;
        applyLayout();
        for (const kioskId of remembered.watched) {
          const kiosk = kiosks.get(kioskId);
          if (kiosk && !tiles.has(kioskId) && (!kiosk.monitoredBy || kiosk.monitoredBy === monitorId)) void startMonitoring(kioskId, false);
        }
      }
      renderKiosks();
      break;
    }
    case "kiosk-online":
    case "kiosk-offline": {
      const kiosk: KioskView = kiosks.get(message.kioskId) ?? { kioskId: message.kioskId, online: false, crew: [] };
      kiosk.online = message.event === "kiosk-online";
      // Coming online is a sign of life; going offline is not (it happens for want of one).
      if (kiosk.online) kiosk.lastSeen = message.at;
      kiosks.set(kiosk.kioskId, kiosk);
      renderKiosks();
      addToTimeline(timeline, `${message.kioskId} ${kiosk.online ? "came online" : "went offline"}`);
      const waiting = tiles.get(message.kioskId);
      if (kiosk.online && waiting?.wanted && !waiting.sessionId && pendingStart !== message.kioskId) {
        waiting.message.textContent = `${message.kioskId} is back; reconnecting…`;
        void startMonitoring(message.kioskId, false);
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
        if (tile.wanted && message.reason === "replaced") window.setTimeout(() => void startMonitoring(message.kioskId, false), 500);
      }
      setWatchedBy(message.kioskId, undefined);
      addToTimeline(timeline, `${message.kioskId}: session ended, ${reason}`, "session");
      break;
    }
    case "answer": {
      const tile = tiles.get(message.fromId);
      if (tile?.pc && tile.sessionId === message.sessionId) {
        window.clearTimeout(tile.answerTimer);
        tile.notAnswering = false;
        void tile.pc.setRemoteDescription(message.answer).then(async () => {
          for (const candidate of tile.pending.splice(0)) await tile.pc?.addIceCandidate(candidate).catch(() => undefined);
        }).catch((e) => addToTimeline(timeline, `${message.fromId}: the answer could not be used (${(e as Error).message})`, "error"));
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
      if (message.requestEvent === "heartbeat-ping") {
        heartbeat.refused();
        break;
      }
      if (message.requestEvent === "start-monitoring" && pendingStart) {
        const kioskId = pendingStart;
        pendingStart = undefined;
        window.setTimeout(nextStart, 0);
        const tile = tiles.get(kioskId);
        const byHand = tile?.byHand ?? true;
        // A refusal leaves no dead tile: the tile goes, the reason stays on the banner and in the events.
        if (tile && !tile.sessionId) {
          const ownOldSession = message.code === "kiosk-busy" && kiosks.get(kioskId)?.monitoredBy === monitorId;
          if (!byHand && ownOldSession && (tile.retries = (tile.retries ?? 0) + 1) <= 10) {
            // This screen's session from before a reload, not yet ended by RailCloud: it goes within seconds.
            tile.message.textContent = "Taking over from this screen's earlier session…";
            startAgainLater(tile, 2000);
          } else if (message.code === "unavailable" || (!byHand && message.code === "kiosk-offline")) {
            // Not the person's doing and not final: the tile waits for the kiosk (or RailCloud) to come back.
            tile.message.textContent = message.code === "unavailable" ? "RailCloud can't be reached; trying again…" : `${kioskId} is offline; waiting for it to come back…`;
            tile.element.dataset.state = "waiting";
            if (message.code === "unavailable") startAgainLater(tile, 3000);
          } else {
            closeTile(kioskId);
          }
        }
        if (byHand) showError(`${kioskId}: ${text}`);
        else addToTimeline(timeline, `${kioskId}: ${text}`, "session");
        break;
      }
      if (message.requestEvent === "ice-candidate" || (message.code === "no-session" && message.requestEvent !== "stop-monitoring")) {
        // A candidate or offer that crossed the end of its session (typical while recovering): nothing to act on.
        addToTimeline(timeline, text, "info");
        break;
      }
      showError(text);
      break;
    }
  }
}

let pendingStart: string | undefined;

async function startMonitoring(kioskId: string, byHand = true): Promise<void> {
  // A second press (a double click) while the first start is on its way changes nothing.
  if (pendingStart === kioskId) return;
  if (pendingStart) {
    // One start at a time, so each refusal finds its tile; the others follow in order ("Watch all").
    startQueue.push([kioskId, byHand]);
    return;
  }
  if (byHand) hideError();
  const tile = tiles.get(kioskId) ?? createTile(kioskId);
  tile.wanted = true;
  tile.byHand = byHand;
  tile.message.textContent = "Connecting…";
  tile.element.dataset.state = "connecting";
  remember();
  const w = window as any;
  w.railcloudClickedAt ??= {};
  w.railcloudClickedAt[kioskId] = performance.now();
  if (w.railcloudFirstFrameAt) delete w.railcloudFirstFrameAt[kioskId];
  pendingStart = kioskId;
  try {
    await signaling?.send("start-monitoring", { kioskId });
  } catch (error) {
    pendingStart = undefined;
    if (byHand) {
      // Not sent at all: no tile is left behind, and the banner says what to do.
      closeTile(kioskId);
      showError(`${kioskId}: RailCloud can't be reached right now (${(error as Error).message}); press Start again in a moment.`);
    } else {
      tile.message.textContent = "RailCloud can't be reached; trying again…";
      tile.element.dataset.state = "waiting";
      startAgainLater(tile, 5000);
    }
    nextStart();
  }
}

const startQueue: [string, boolean][] = [];

/** An automatic start that did not happen (RailCloud unreachable, the kiosk busy with this screen's old session): again later, if the tile is still wanted. */
function startAgainLater(tile: Tile, ms: number): void {
  window.setTimeout(() => { if (tiles.get(tile.kioskId) === tile && tile.wanted && !tile.sessionId) void startMonitoring(tile.kioskId, false); }, ms);
}

function nextStart(): void {
  const next = startQueue.shift();
  if (next) void startMonitoring(next[0], next[1]);
}

async function stopMonitoring(kioskId: string): Promise<void> {
  const tile = tiles.get(kioskId);
  if (tile) tile.wanted = false;
  remember();
  if (tile?.sessionId) await signaling?.send("stop-monitoring", { kioskId }).catch((e) => showError(`${kioskId}: could not stop (${(e as Error).message}); try again`));
  else closeTile(kioskId);
}

async function beginSession(message: ServerMessage): Promise<void> {
  const existing = tiles.get(message.kioskId);
  if (existing) existing.retries = 0;
  if (pendingStart === message.kioskId) pendingStart = undefined;
  window.setTimeout(nextStart, 0);
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
      void sendOffer(tile, message.kioskId, true).catch(() => undefined);   // RailCloud unreachable: the restart timer below tries again
      window.clearTimeout(tile.restartTimer);
      tile.restartTimer = window.setTimeout(() => {
        if (tile.pc === pc && pc.connectionState !== "connected" && tile.wanted) {
          tile.message.textContent = "Still no video; starting over…";
          void signaling?.send("stop-monitoring", { kioskId: message.kioskId })
            .then(() => window.setTimeout(() => void startMonitoring(message.kioskId, false), 500))
            .catch(() => { tile.message.textContent = "Still no video, and RailCloud can't be reached to start over; the video may come back by itself."; });
        }
      }, 10_000);
    }
  };
  tile.timer = window.setInterval(() => void updateStats(tile), 1000);
  await sendOffer(tile, message.kioskId, false).catch((e) => { tile.message.textContent = `Could not send the offer (${(e as Error).message}).`; });
  window.clearTimeout(tile.answerTimer);
  tile.answerTimer = window.setTimeout(() => {
    if (tile.pc !== pc || pc.remoteDescription) return;
    tile.message.replaceChildren(`${message.kioskId} is not answering. `, tryAgainButton(message.kioskId));
    tile.notAnswering = true;
    tile.element.dataset.state = "not-answering";
  }, 15_000);
}

async function sendOffer(tile: Tile, kioskId: string, iceRestart: boolean): Promise<void> {
  const pc = tile.pc!;
  const offer = await pc.createOffer({ iceRestart });
  await pc.setLocalDescription(offer);
  await signaling?.send("offer", { targetId: kioskId, offer: { type: "offer", sdp: offer.sdp } });
}

function tryAgainButton(kioskId: string): HTMLButtonElement {
  const button = el("button", { type: "button", textContent: "Try again", className: "secondary" });
  button.addEventListener("click", () => {
    const tile = tiles.get(kioskId);
    if (!tile) return;
    if (tile.sessionId) void signaling?.send("stop-monitoring", { kioskId }).catch(() => undefined);
    stopMedia(tile);
    window.setTimeout(() => void startMonitoring(kioskId), 300);
  });
  return button;
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
  // The stats fold into a one-line badge (path, frames/s, size) that opens to the full list.
  const overlay = el("dl", { className: "stats" });
  const badge = el("span", { className: "badge" });
  const details = el("details", { className: "tile-stats" }, el("summary", {}, badge), overlay);
  const message = el("p", { className: "tile-message" });
  message.setAttribute("role", "status");
  const stop = el("button", { type: "button", textContent: "Stop" });
  stop.setAttribute("aria-label", `Stop watching ${kioskId}`);
  stop.addEventListener("click", () => void stopMonitoring(kioskId));
  const full = el("button", { type: "button", textContent: "Full screen", className: "secondary" });
  full.setAttribute("aria-label", `Fullscreen ${kioskId}`);
  const element = el("article", { className: "tile", dataset: { kiosk: kioskId, state: "connecting" } },
    el("header", {}, el("h3", { textContent: kioskId }), el("span", { className: "tile-buttons" }, full, stop)), video, details, message);
  full.addEventListener("click", () => void toggleFullscreen(element));
  element.setAttribute("aria-label", `Kiosk ${kioskId}`);
  grid.append(element);
  const tile: Tile = { kioskId, wanted: true, pending: [], element, video, overlay, badge, message, lastBytes: 0, lastFrames: 0, lastFramesChangedAt: performance.now(),
    stats: { state: "new", path: "–", bitrateKbps: 0, fps: 0, lost: 0, rttMs: 0, codec: "–", framesDecoded: 0, width: 0, height: 0, frozen: false } };
  tiles.set(kioskId, tile);
  fitGrid();
  return tile;
}

function stopMedia(tile: Tile): void {
  window.clearInterval(tile.timer);
  window.clearTimeout(tile.answerTimer);
  tile.notAnswering = false;
  window.clearTimeout(tile.restartTimer);
  tile.pc?.close();
  tile.pc = undefined;
  tile.sessionId = undefined;
  tile.pending = [];
  tile.video.srcObject = null;
}

/** Removes a tile; <paramref name="forget"/> also drops it from the watched set this browser remembers (not at sign-out). */
function closeTile(kioskId: string, forget = true): void {
  const tile = tiles.get(kioskId);
  if (!tile) return;
  stopMedia(tile);
  tile.element.remove();
  tiles.delete(kioskId);
  fitGrid();
  if (forget) remember();
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
  // The stats refresh every second; a state they cannot see (no camera, no answer) must not be overwritten by them.
  tile.element.dataset.state = tile.noCamera ? "no-camera" : tile.notAnswering ? "not-answering" : s.frozen ? "frozen" : s.state;
  if (s.state === "connected" && tile.message.textContent?.endsWith("is not answering. Try again")) tile.message.textContent = "";
  if (s.frozen) tile.message.textContent = "Video has frozen: no new frames for 3 seconds.";
  else if (s.state === "connected" && tile.message.textContent?.startsWith("Video has frozen")) tile.message.textContent = "";
  const entries: [string, string][] = [
    ["Connection", s.state], ["Path", s.path], ["Bitrate", `${s.bitrateKbps} kbit/s`], ["Frames/s", String(s.fps)],
    ["Packets lost", String(s.lost)], ["RTT", `${s.rttMs} ms`], ["Codec", s.codec], ["Size", s.width ? `${s.width}×${s.height}` : "–"],
  ];
  tile.overlay.replaceChildren(...entries.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
  tile.badge.textContent = `${s.state} · ${s.path} · ${s.fps} fps · ${s.width ? `${s.width}×${s.height}` : "–"} · ${s.codec}`;
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
  const search = kioskSearch.value.trim().toLowerCase();
  const all = [...kiosks.values()].sort((a, b) => a.kioskId.localeCompare(b.kioskId));
  const shown = all.filter((k) => (!onlineOnly.checked || k.online) && (!search || k.kioskId.toLowerCase().includes(search)
    || k.crew.some((c) => c.crewId.toLowerCase().includes(search) || (c.name ?? "").toLowerCase().includes(search))));
  const rows = shown.map((kiosk) => {
    const tile = tiles.get(kiosk.kioskId);
    const watching = tile?.sessionId !== undefined || (tile?.wanted ?? false);
    // Someone else (or this account on another screen) is watching: Start would be refused, so it says who instead.
    const watchedElsewhere = !watching && kiosk.monitoredBy !== undefined && kiosk.monitoredBy !== null;
    const label = watching ? "Stop monitoring" : watchedElsewhere ? `Watched by ${kiosk.monitoredBy}` : "Start monitoring";
    const action = el("button", { type: "button", textContent: label, disabled: (!watching && (!kiosk.online || watchedElsewhere)) || (stale && !watching) });
    action.setAttribute("aria-label", `${watching ? "Stop" : "Start"} monitoring ${kiosk.kioskId}`);
    action.addEventListener("click", () => void (watching ? stopMonitoring(kiosk.kioskId) : startMonitoring(kiosk.kioskId)));
    const crew = kiosk.crew.map((c) => (c.name ? `${c.crewId} (${c.name})` : c.crewId)).join(", ") || "–";
    // A kiosk that should have sent a heartbeat by now is marked, and so is everything while our own connection is down.
    const silentFor = kiosk.lastSeen ? (Date.now() - new Date(kiosk.lastSeen).getTime()) / 1000 : 0;
    const late = kiosk.online && silentFor > heartbeatSeconds * 2 + 5;
    const state = !kiosk.online ? "Offline" : late ? `Online? Not heard from for ${Math.round(silentFor)} s` : "Online";
    const stateCell = el("td", { textContent: state, className: kiosk.online ? (late ? "late" : "online") : "offline" });
    stateCell.dataset.label = "State";
    const cells = [
      stateCell,
      el("td", { textContent: crew, dataset: { label: "Crew" } }),
      el("td", { textContent: kiosk.monitoredBy ?? "–", dataset: { label: "Watched by" } }),
      el("td", { textContent: time(kiosk.lastSeen), dataset: { label: "Last heartbeat" } }),
      el("td", {}, action),
    ];
    return el("tr", { dataset: { kiosk: kiosk.kioskId, online: String(kiosk.online), stale: String(stale || late) } },
      el("th", { scope: "row", textContent: kiosk.kioskId }), ...cells);
  });
  kioskRows.replaceChildren(...rows);
  const online = all.filter((k) => k.online).length;
  kioskSummary.textContent = `Kiosks: ${online} of ${all.length} online${shown.length !== all.length ? `, ${shown.length} shown` : ""}${stale ? " · last known (RailCloud can't be reached)" : ""}`;
  watchAll.disabled = stale || !all.some((k) => k.online && !k.monitoredBy && !tiles.get(k.kioskId)?.sessionId);
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
