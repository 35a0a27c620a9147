// Watching kiosks: one session and one peer connection per tile. Starts go one at a time (so each refusal finds its
// tile), a tile whose connection fails restarts ICE and then starts over, and a kiosk that does not answer is named.
import { RemoteSide, candidateOf, freshFor, rtcConfiguration } from "../peer";
import type { AnswerMessage, ErrorMessage, IceCandidateMessage, IceServer, MonitoringEnded, MonitoringStartedForMonitor, MonitoringStopped, RegisteredMonitor, SessionDescription } from "../protocol";
import { endReasons, explain } from "../signaling";
import { addToTimeline, el } from "../ui";
import { remember, setWatchedBy } from "./kiosk-list";
import { dash, hideError, page, showError } from "./state";
import { closeTile, createTile, freshStats, stopMedia, updateStats, type Tile } from "./tiles";

let pendingStart: string | undefined;
const startQueue: [string, boolean][] = [];

export async function startMonitoring(kioskId: string, byHand = true): Promise<void> {
  // A second press (a double click) while the first start is on its way changes nothing.
  if (pendingStart === kioskId) return;
  if (pendingStart) {
    // One start at a time, so each refusal finds its tile; the others follow in order ("Watch all").
    startQueue.push([kioskId, byHand]);
    return;
  }
  if (byHand) hideError();
  const tile = dash.tiles.get(kioskId) ?? createTile(kioskId);
  tile.wanted = true;
  tile.byHand = byHand;
  tile.message.textContent = "Connecting…";
  tile.element.dataset.state = "connecting";
  remember();
  window.railcloudClickedAt ??= {};
  window.railcloudClickedAt[kioskId] = performance.now();
  if (window.railcloudFirstFrameAt) delete window.railcloudFirstFrameAt[kioskId];
  pendingStart = kioskId;
  try {
    // The peer is made and gathering while the start is on its way, and the offer goes with it: one round trip
    // and one invocation fewer. With ICE servers about to expire the offer waits for monitoring-started's fresh ones.
    const servers = dash.signaling?.iceServers ?? [];
    const offer = freshFor(servers, 5) ? await prepareOffer(tile, kioskId, servers) : undefined;
    await dash.signaling?.send("start-monitoring", offer ? { kioskId, offer } : { kioskId });
  } catch (error) {
    pendingStart = undefined;
    stopMedia(tile);
    if (byHand) {
      // Not sent at all: no tile is left behind, and the banner says what to do.
      closeTile(kioskId, remember);
      showError(`${kioskId}: RailCloud can't be reached right now (${(error as Error).message}); press Start again in a moment.`);
    } else {
      tile.message.textContent = "RailCloud can't be reached; trying again…";
      tile.element.dataset.state = "waiting";
      startAgainLater(tile, 5000);
    }
    nextStart();
  }
}

/** An automatic start that did not happen (RailCloud unreachable, the kiosk busy with this screen's old session): again later, if the tile is still wanted. */
function startAgainLater(tile: Tile, ms: number): void {
  window.setTimeout(() => { if (dash.tiles.get(tile.kioskId) === tile && tile.wanted && !tile.sessionId) void startMonitoring(tile.kioskId, false); }, ms);
}

function nextStart(): void {
  const next = startQueue.shift();
  if (next) void startMonitoring(next[0], next[1]);
}

export async function stopMonitoring(kioskId: string): Promise<void> {
  const tile = dash.tiles.get(kioskId);
  if (tile) tile.wanted = false;
  remember();
  if (tile?.sessionId) await dash.signaling?.send("stop-monitoring", { kioskId }).catch((e: Error) => showError(`${kioskId}: could not stop (${e.message}); try again`));
  else closeTile(kioskId, remember);
}

dash.actions = { start: startMonitoring, stop: stopMonitoring };

/** A kiosk that came back online while its tile waited for it: watch it again. */
export function onKioskBack(kioskId: string): void {
  const waiting = dash.tiles.get(kioskId);
  if (waiting?.wanted && !waiting.sessionId && pendingStart !== kioskId) {
    waiting.message.textContent = `${kioskId} is back; reconnecting…`;
    void startMonitoring(kioskId, false);
  }
}

/** The sessions this page holds, for a new connection to resume. */
export const heldSessions = (): string[] => [...dash.tiles.values()].flatMap((t) => (t.sessionId ? [t.sessionId] : []));

/** After a new connection registered: sessions RailCloud did not resume ended meanwhile; tiles still wanted start again. */
export function onRegistered(message: RegisteredMonitor): void {
  const resumed = message.resumed ?? [];
  for (const tile of [...dash.tiles.values()]) {
    if (!tile.sessionId || resumed.includes(tile.sessionId)) continue;
    // Ended while we were away: start again quietly if the person still wants it.
    stopMedia(tile);
    if (tile.wanted) void startMonitoring(tile.kioskId, false);
  }
  if (resumed.length > 0) addToTimeline(page.timeline, `Back online; ${resumed.length} session(s) resumed (their video never stopped)`, "session");
}

/** A peer for <paramref name="kioskId"/>'s tile, gathering from now on; its offer, for the start to carry. */
async function prepareOffer(tile: Tile, kioskId: string, iceServers: IceServer[]): Promise<SessionDescription> {
  stopMedia(tile);
  const pc = newPeer(tile, kioskId, iceServers);
  tile.offered = true;
  tile.outbox = [];
  const offer = await pc.createOffer();
  await pc.setLocalDescription(offer);
  return { type: "offer", sdp: offer.sdp ?? "" };
}

/** The tile's receiving peer connection: video in, candidates out (held in the outbox until the session is known). */
function newPeer(tile: Tile, kioskId: string, iceServers: IceServer[]): RTCPeerConnection {
  const pc = new RTCPeerConnection(rtcConfiguration(iceServers, page.relayOnly.checked));
  tile.pc = pc;
  tile.remote = new RemoteSide(pc);
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.ontrack = (e) => {
    tile.video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
    void tile.video.play().catch(() => undefined);
  };
  pc.onicecandidate = (e) => {
    if (!e.candidate || tile.pc !== pc) return;
    if (tile.outbox) tile.outbox.push(candidateOf(e.candidate));
    else void dash.signaling?.send("ice-candidate", { targetId: kioskId, candidate: candidateOf(e.candidate) }).catch(() => undefined);
  };
  pc.onconnectionstatechange = () => onConnectionState(tile, pc, kioskId);
  return pc;
}

export async function onStarted(message: MonitoringStartedForMonitor): Promise<void> {
  const existing = dash.tiles.get(message.kioskId);
  if (existing) existing.retries = 0;
  if (pendingStart === message.kioskId) pendingStart = undefined;
  window.setTimeout(nextStart, 0);
  // Each start brings fresh TURN credentials: the next start's early peer uses them.
  if (dash.signaling && message.iceServers?.length) dash.signaling.iceServers = message.iceServers;
  const tile = dash.tiles.get(message.kioskId) ?? createTile(message.kioskId);
  const prepared = tile.offered && tile.pc ? tile.pc : undefined;
  if (!prepared) stopMedia(tile);
  tile.offered = false;
  tile.sessionId = message.sessionId;
  tile.stats = freshStats();
  tile.noCamera = false;
  tile.lastBytes = 0;
  tile.lastFrames = 0;
  tile.element.dataset.state = "connecting";
  tile.message.textContent = "Waiting for video…";
  setWatchedBy(message.kioskId, dash.monitorId);
  addToTimeline(page.timeline, `Watching ${message.kioskId}`, "session");
  const pc = prepared ?? newPeer(tile, message.kioskId, message.iceServers ?? []);
  tile.timer = window.setInterval(() => void updateStats(tile), 1000);
  if (prepared) {
    // The offer went with the start: what was gathered meanwhile follows it now, the rest as it comes.
    const early = tile.outbox ?? [];
    tile.outbox = undefined;
    for (const candidate of early) void dash.signaling?.send("ice-candidate", { targetId: message.kioskId, candidate }).catch(() => undefined);
  } else {
    tile.outbox = undefined;
    await sendOffer(tile, message.kioskId, false).catch((e: Error) => { tile.message.textContent = `Could not send the offer (${e.message}).`; });
  }
  window.clearTimeout(tile.answerTimer);
  tile.answerTimer = window.setTimeout(() => {
    if (tile.pc !== pc || pc.remoteDescription) return;
    tile.message.replaceChildren(`${message.kioskId} is not answering. `, tryAgainButton(message.kioskId));
    tile.notAnswering = true;
    tile.element.dataset.state = "not-answering";
  }, 15_000);
}

/** ICE restart first; if the media path is not back within 10 s, renegotiate from scratch (a new session). */
function onConnectionState(tile: Tile, pc: RTCPeerConnection, kioskId: string): void {
  if (pc.connectionState === "connected" && !tile.noCamera) tile.message.textContent = "";
  if (pc.connectionState !== "failed" || tile.pc !== pc) return;
  tile.message.textContent = "Connection lost; trying to restore it…";
  pc.restartIce();
  void sendOffer(tile, kioskId, true).catch(() => undefined);   // RailCloud unreachable: the restart timer below tries again
  window.clearTimeout(tile.restartTimer);
  tile.restartTimer = window.setTimeout(() => {
    if (tile.pc === pc && pc.connectionState !== "connected" && tile.wanted) {
      tile.message.textContent = "Still no video; starting over…";
      void dash.signaling?.send("stop-monitoring", { kioskId })
        .then(() => window.setTimeout(() => void startMonitoring(kioskId, false), 500))
        .catch(() => { tile.message.textContent = "Still no video, and RailCloud can't be reached to start over; the video may come back by itself."; });
    }
  }, 10_000);
}

async function sendOffer(tile: Tile, kioskId: string, iceRestart: boolean): Promise<void> {
  const pc = tile.pc!;
  const offer = await pc.createOffer({ iceRestart });
  await pc.setLocalDescription(offer);
  await dash.signaling?.send("offer", { targetId: kioskId, offer: { type: "offer", sdp: offer.sdp ?? "" } });
}

function tryAgainButton(kioskId: string): HTMLButtonElement {
  const button = el("button", { type: "button", textContent: "Try again", className: "secondary" });
  button.addEventListener("click", () => {
    const tile = dash.tiles.get(kioskId);
    if (!tile) return;
    if (tile.sessionId) void dash.signaling?.send("stop-monitoring", { kioskId }).catch(() => undefined);
    stopMedia(tile);
    window.setTimeout(() => void startMonitoring(kioskId), 300);
  });
  return button;
}

export function onStopped(message: MonitoringStopped): void {
  const tile = dash.tiles.get(message.kioskId);
  if (tile?.wanted) stopMedia(tile);
  else closeTile(message.kioskId, remember);
  addToTimeline(page.timeline, `Stopped watching ${message.kioskId}`);
  setWatchedBy(message.kioskId, undefined);
}

export function onEnded(message: MonitoringEnded): void {
  const tile = dash.tiles.get(message.kioskId);
  const reason = endReasons[message.reason] ?? message.reason;
  if (tile && tile.sessionId === message.sessionId) {
    stopMedia(tile);
    tile.message.textContent = `Session ended: ${reason}.`;
    tile.element.dataset.state = "ended";
    // A kiosk that reconnected is online again at once; otherwise the tile waits for it to come back online.
    if (tile.wanted && message.reason === "replaced") window.setTimeout(() => void startMonitoring(message.kioskId, false), 500);
  }
  setWatchedBy(message.kioskId, undefined);
  addToTimeline(page.timeline, `${message.kioskId}: session ended, ${reason}`, "session");
}

/** A message for this tile's session; or, while its start (with the offer) is on its way, for the session it will get. */
const forSession = (tile: Tile | undefined, sessionId: string): tile is Tile =>
  !!tile?.remote && (tile.sessionId === sessionId || (!tile.sessionId && !!tile.offered));

export function onAnswer(message: AnswerMessage): void {
  const tile = dash.tiles.get(message.fromId);
  if (!forSession(tile, message.sessionId)) return;
  window.clearTimeout(tile.answerTimer);
  tile.notAnswering = false;
  void tile.remote!.accept({ type: "answer", sdp: message.answer.sdp })
    .catch((e: Error) => addToTimeline(page.timeline, `${message.fromId}: the answer could not be used (${e.message})`, "error"));
  // A kiosk without a camera answers without sending video: say so rather than show a black tile.
  if (!/^a=(sendonly|sendrecv)\r?$/m.test(message.answer.sdp ?? "")) {
    tile.message.textContent = `${message.fromId} has no camera (it is missing or access to it was denied).`;
    tile.element.dataset.state = "no-camera";
    tile.noCamera = true;
  }
}

export function onCandidate(message: IceCandidateMessage): void {
  const tile = dash.tiles.get(message.fromId);
  if (forSession(tile, message.sessionId)) tile.remote!.addCandidate(message.candidate);
}

/** A refused start: the tile goes (or, for an automatic start, waits), and the reason is shown. True when it was one. */
export function onStartRefused(message: ErrorMessage): boolean {
  if (message.requestEvent !== "start-monitoring" || !pendingStart) return false;
  const kioskId = pendingStart;
  pendingStart = undefined;
  window.setTimeout(nextStart, 0);
  const tile = dash.tiles.get(kioskId);
  const byHand = tile?.byHand ?? true;
  const text = explain(message.code, message.message);
  // A refusal leaves no dead tile: the tile goes, the reason stays on the banner and in the events.
  if (tile && !tile.sessionId) {
    stopMedia(tile);   // the peer made for the offer
    const ownOldSession = message.code === "kiosk-busy" && dash.kiosks.get(kioskId)?.monitoredBy === dash.monitorId;
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
      closeTile(kioskId, remember);
    }
  }
  if (byHand) showError(`${kioskId}: ${text}`);
  else addToTimeline(page.timeline, `${kioskId}: ${text}`, "session");
  return true;
}
