// The kiosk list: state, crew on duty, who watches, the last heartbeat, and Start or Stop for each kiosk; its search
// and "Online only" filters, wall mode, and what this browser remembers of them.
import { listKiosks } from "../api";
import type { CrewEvent, KioskOffline, KioskOnline, KioskView } from "../protocol";
import { $, addToTimeline, el, time } from "../ui";
import { dash, page } from "./state";
import { fitGrid, toggleFullscreen } from "./tiles";

const kioskRows = $("#kiosks tbody");
const kioskSearch = $<HTMLInputElement>("#kiosk-search");
const onlineOnly = $<HTMLInputElement>("#online-only");
const wallMode = $<HTMLInputElement>("#wall-mode");
const watchAll = $<HTMLButtonElement>("#watch-all");
const fullscreenGrid = $<HTMLButtonElement>("#fullscreen-grid");
const kioskList = $<HTMLDetailsElement>("#kiosk-list");
const kioskSummary = $("#kiosk-summary");

// ---- What this browser remembers: the wall's layout, filters, and which kiosks it watches ----

interface Remembered { watched: string[]; wall: boolean; onlineOnly: boolean; search: string; listOpen: boolean }

function rememberedKey(): string { return `railcloud.monitor.${dash.monitorId}`; }

function loadRemembered(): Remembered {
  const fallback: Remembered = { watched: [], wall: false, onlineOnly: false, search: "", listOpen: true };
  try {
    const stored: unknown = JSON.parse(localStorage.getItem(rememberedKey()) ?? "null");
    if (!stored || typeof stored !== "object") return fallback;
    const s = stored as Partial<Record<keyof Remembered, unknown>>;
    return {
      watched: Array.isArray(s.watched) ? s.watched.filter((k): k is string => typeof k === "string").slice(0, 64) : [],
      wall: s.wall === true, onlineOnly: s.onlineOnly === true, search: typeof s.search === "string" ? s.search : "", listOpen: s.listOpen !== false,
    };
  } catch {
    return fallback;
  }
}

export function remember(): void {
  if (!dash.monitorId) return;
  const state: Remembered = {
    watched: [...dash.tiles.values()].filter((t) => t.wanted).map((t) => t.kioskId),
    wall: wallMode.checked, onlineOnly: onlineOnly.checked, search: kioskSearch.value, listOpen: kioskList.open,
  };
  try { localStorage.setItem(rememberedKey(), JSON.stringify(state)); } catch { /* private mode: nothing is remembered */ }
}

function applyLayout(): void {
  document.body.classList.toggle("wall", wallMode.checked);
  fitGrid();
}

/** After the first sign-in: a wall comes back to the same picture, and the kiosks it watched before a reload start by themselves. */
export function restoreWall(): void {
  const remembered = loadRemembered();
  wallMode.checked = remembered.wall;
  onlineOnly.checked = remembered.onlineOnly;
  kioskSearch.value = remembered.search;
  kioskList.open = remembered.listOpen;
  applyLayout();
  for (const kioskId of remembered.watched) {
    const kiosk = dash.kiosks.get(kioskId);
    if (kiosk && !dash.tiles.has(kioskId) && (!kiosk.monitoredBy || kiosk.monitoredBy === dash.monitorId)) void dash.actions.start(kioskId, false);
  }
}

wallMode.addEventListener("change", () => { applyLayout(); remember(); });
onlineOnly.addEventListener("change", () => { renderKiosks(); remember(); });
kioskSearch.addEventListener("input", () => { renderKiosks(); remember(); });
kioskList.addEventListener("toggle", () => remember());
watchAll.addEventListener("click", () => {
  for (const kiosk of [...dash.kiosks.values()].sort((a, b) => a.kioskId.localeCompare(b.kioskId))) {
    if (kiosk.online && !kiosk.monitoredBy && !dash.tiles.get(kiosk.kioskId)?.sessionId) void dash.actions.start(kiosk.kioskId, false);
  }
});
fullscreenGrid.addEventListener("click", () => void toggleFullscreen(page.grid));

// ---- What RailCloud says about kiosks ----

export function setKiosks(list: KioskView[]): void {
  dash.kiosks.clear();
  for (const kiosk of list) dash.kiosks.set(kiosk.kioskId, kiosk);
}

export async function refreshKiosks(): Promise<void> {
  try {
    for (const kiosk of await listKiosks(await dash.tokens(false))) dash.kiosks.set(kiosk.kioskId, kiosk);
    renderKiosks();
  } catch { /* the next refresh will try again */ }
}

export function onPresence(message: KioskOnline | KioskOffline): KioskView {
  const kiosk: KioskView = dash.kiosks.get(message.kioskId) ?? { kioskId: message.kioskId, online: false, crew: [] };
  kiosk.online = message.event === "kiosk-online";
  // Coming online is a sign of life; going offline is not (it happens for want of one).
  if (kiosk.online) kiosk.lastSeen = message.at;
  dash.kiosks.set(kiosk.kioskId, kiosk);
  renderKiosks();
  addToTimeline(page.timeline, `${message.kioskId} ${kiosk.online ? "came online" : "went offline"}`);
  return kiosk;
}

export function onCrew(message: CrewEvent): void {
  const kiosk = dash.kiosks.get(message.kioskId);
  if (kiosk) {
    kiosk.crew = kiosk.crew.filter((c) => c.crewId !== message.crewId);
    if (message.event === "crew-sign-on") kiosk.crew.push({ crewId: message.crewId, name: message.name, at: message.at });
    renderKiosks();
  }
  const who = message.name ? `${message.crewId} (${message.name})` : message.crewId;
  addToTimeline(page.timeline, `${message.kioskId}: crew ${who} signed ${message.event === "crew-sign-on" ? "on" : "off"}`, "crew");
}

export function setWatchedBy(kioskId: string, by: string | undefined): void {
  const kiosk = dash.kiosks.get(kioskId);
  if (kiosk) {
    kiosk.monitoredBy = by;
    renderKiosks();
  }
}

export function renderKiosks(): void {
  const search = kioskSearch.value.trim().toLowerCase();
  const all = [...dash.kiosks.values()].sort((a, b) => a.kioskId.localeCompare(b.kioskId));
  const shown = all.filter((k) => (!onlineOnly.checked || k.online) && (!search || k.kioskId.toLowerCase().includes(search)
    || k.crew.some((c) => c.crewId.toLowerCase().includes(search) || (c.name ?? "").toLowerCase().includes(search))));
  kioskRows.replaceChildren(...shown.map(row));
  const online = all.filter((k) => k.online).length;
  kioskSummary.textContent = `Kiosks: ${online} of ${all.length} online${shown.length !== all.length ? `, ${shown.length} shown` : ""}${dash.stale ? " · last known (RailCloud can't be reached)" : ""}`;
  watchAll.disabled = dash.stale || !all.some((k) => k.online && !k.monitoredBy && !dash.tiles.get(k.kioskId)?.sessionId);
}

function row(kiosk: KioskView): HTMLTableRowElement {
  const tile = dash.tiles.get(kiosk.kioskId);
  const watching = tile?.sessionId !== undefined || (tile?.wanted ?? false);
  // Someone else (or this account on another screen) is watching: Start would be refused, so it says who instead.
  const watchedElsewhere = !watching && kiosk.monitoredBy !== undefined;
  const label = watching ? "Stop monitoring" : watchedElsewhere ? `Watched by ${kiosk.monitoredBy}` : "Start monitoring";
  const action = el("button", { type: "button", textContent: label, disabled: (!watching && (!kiosk.online || watchedElsewhere)) || (dash.stale && !watching) });
  action.setAttribute("aria-label", `${watching ? "Stop" : "Start"} monitoring ${kiosk.kioskId}`);
  action.addEventListener("click", () => void (watching ? dash.actions.stop(kiosk.kioskId) : dash.actions.start(kiosk.kioskId)));
  const crew = kiosk.crew.map((c) => (c.name ? `${c.crewId} (${c.name})` : c.crewId)).join(", ") || "–";
  // A kiosk that should have sent a heartbeat by now is marked, and so is everything while our own connection is down.
  const silentFor = kiosk.lastSeen ? (Date.now() - new Date(kiosk.lastSeen).getTime()) / 1000 : 0;
  const late = kiosk.online && silentFor > dash.heartbeatSeconds * 2 + 5;
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
  return el("tr", { dataset: { kiosk: kiosk.kioskId, online: String(kiosk.online), stale: String(dash.stale || late) } },
    el("th", { scope: "row", textContent: kiosk.kioskId }), ...cells);
}
