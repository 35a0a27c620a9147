// The video tiles: one per watched kiosk, in a grid that fills the screen in wall mode, each with its stats
// (folded into a badge), a message line, and a frozen-video warning.
import { readVideoStats, type RemoteSide } from "../peer";
import type { IceCandidateInit } from "../protocol";
import { addToTimeline, el } from "../ui";
import { dash, page } from "./state";

interface TileStats { state: string; path: string; bitrateKbps: number; fps: number; lost: number; rttMs: number; codec: string; framesDecoded: number; width: number; height: number; frozen: boolean }

export interface Tile {
  kioskId: string;
  /** The person asked to watch this kiosk and has not pressed Stop: the tile tries again when it can. */
  wanted: boolean;
  /** The kiosk answered without video: no frozen-video warning, no "connected" wording. */
  noCamera?: boolean;
  restartTimer?: number;
  sessionId?: string;
  pc?: RTCPeerConnection;
  /** The start carried this peer's offer: monitoring-started finds the peer ready and gathering. */
  offered?: boolean;
  /** Local candidates gathered before the session was known; sent when monitoring-started comes. */
  outbox?: IceCandidateInit[];
  remote?: RemoteSide;
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

export const freshStats = (): TileStats => ({ state: "new", path: "–", bitrateKbps: 0, fps: 0, lost: 0, rttMs: 0, codec: "–", framesDecoded: 0, width: 0, height: 0, frozen: false });

/** In wall mode the grid fills the screen: 1, 4, 9, 16… tiles in the squarest arrangement that fits. */
export function fitGrid(): void {
  const n = Math.max(1, dash.tiles.size);
  const columns = Math.ceil(Math.sqrt(n));
  page.grid.style.setProperty("--columns", String(columns));
  page.grid.style.setProperty("--rows", String(Math.ceil(n / columns)));
}

export async function toggleFullscreen(element: HTMLElement): Promise<void> {
  try {
    if (document.fullscreenElement === element) await document.exitFullscreen();
    else await element.requestFullscreen();
  } catch (error) {
    addToTimeline(page.timeline, `Fullscreen is not available here: ${(error as Error).message}`, "error");
  }
}

export function createTile(kioskId: string): Tile {
  const video = el("video", { autoplay: true, muted: true, playsInline: true });
  video.setAttribute("aria-label", `Live video from ${kioskId}`);
  // Time to first frame, for the benchmark: the first decoded frame of each session shows as "loadeddata".
  video.addEventListener("loadeddata", () => {
    window.railcloudFirstFrameAt ??= {};
    window.railcloudFirstFrameAt[kioskId] ??= performance.now();
  });
  // The stats fold into a one-line badge (path, frames/s, size) that opens to the full list.
  const overlay = el("dl", { className: "stats" });
  const badge = el("span", { className: "badge" });
  const details = el("details", { className: "tile-stats" }, el("summary", {}, badge), overlay);
  const message = el("p", { className: "tile-message" });
  message.setAttribute("role", "status");
  const stop = el("button", { type: "button", textContent: "Stop" });
  stop.setAttribute("aria-label", `Stop watching ${kioskId}`);
  stop.addEventListener("click", () => void dash.actions.stop(kioskId));
  const full = el("button", { type: "button", textContent: "Full screen", className: "secondary" });
  full.setAttribute("aria-label", `Fullscreen ${kioskId}`);
  const element = el("article", { className: "tile", dataset: { kiosk: kioskId, state: "connecting" } },
    el("header", {}, el("h3", { textContent: kioskId }), el("span", { className: "tile-buttons" }, full, stop)), video, details, message);
  full.addEventListener("click", () => void toggleFullscreen(element));
  element.setAttribute("aria-label", `Kiosk ${kioskId}`);
  page.grid.append(element);
  const tile: Tile = { kioskId, wanted: true, element, video, overlay, badge, message, lastBytes: 0, lastFrames: 0, lastFramesChangedAt: performance.now(), stats: freshStats() };
  dash.tiles.set(kioskId, tile);
  fitGrid();
  return tile;
}

export function stopMedia(tile: Tile): void {
  window.clearInterval(tile.timer);
  window.clearTimeout(tile.answerTimer);
  tile.notAnswering = false;
  window.clearTimeout(tile.restartTimer);
  tile.pc?.close();
  tile.pc = undefined;
  tile.offered = false;
  tile.outbox = undefined;
  tile.remote = undefined;
  tile.sessionId = undefined;
  tile.video.srcObject = null;
}

/** Removes a tile; <paramref name="forget"/> also drops it from the watched set this browser remembers (not at sign-out). */
export function closeTile(kioskId: string, onForget?: () => void): void {
  const tile = dash.tiles.get(kioskId);
  if (!tile) return;
  stopMedia(tile);
  tile.element.remove();
  dash.tiles.delete(kioskId);
  fitGrid();
  onForget?.();
}

/** Once a second: the tile's numbers from its peer's stats, its state, and the frozen-video warning. */
export async function updateStats(tile: Tile): Promise<void> {
  const pc = tile.pc;
  if (!pc) return;
  const read = await readVideoStats(pc);
  const s = tile.stats;
  s.state = read.state;
  s.path = read.path ?? s.path;
  s.rttMs = read.rttMs ?? s.rttMs;
  s.bitrateKbps = Math.max(0, Math.round(((read.bytesReceived - tile.lastBytes) * 8) / 1000));
  tile.lastBytes = read.bytesReceived;
  ({ fps: s.fps, lost: s.lost, framesDecoded: s.framesDecoded, width: s.width, height: s.height, codec: s.codec } = read);
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
  const size = s.width ? `${s.width}×${s.height}` : "–";
  const entries: [string, string][] = [
    ["Connection", s.state], ["Path", s.path], ["Bitrate", `${s.bitrateKbps} kbit/s`], ["Frames/s", String(s.fps)],
    ["Packets lost", String(s.lost)], ["RTT", `${s.rttMs} ms`], ["Codec", s.codec], ["Size", size],
  ];
  tile.overlay.replaceChildren(...entries.flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
  tile.badge.textContent = `${s.state} · ${s.path} · ${s.fps} fps · ${size} · ${s.codec}`;
}

// For tests and diagnostics: each tile's live numbers.
window.railcloudTiles = () => Object.fromEntries([...dash.tiles].map(([id, t]) => [id, { ...t.stats, sessionId: t.sessionId, message: t.message.textContent }]));
