// The monitor dashboard: the live kiosk list, several kiosks at once in a grid (one session each), a stats overlay
// per tile, a frozen-video warning, an event timeline, and every refusal in plain words. This module connects to
// RailCloud and hands each message to the part of the page it is about.
import { startConsole, stopConsole } from "./console";
import { onCrew, onPresence, refreshKiosks, renderKiosks, restoreWall, setKiosks } from "./monitor/kiosk-list";
import { heldSessions, onAnswer, onCandidate, onEnded, onKioskBack, onRegistered, onStarted, onStartRefused, onStopped } from "./monitor/sessions";
import { setUpSignIn } from "./monitor/signin";
import { dash, page, showError } from "./monitor/state";
import { closeTile } from "./monitor/tiles";
import { ApiError } from "./api";
import type { ServerMessage } from "./protocol";
import { Heartbeat, Signaling, explain, showSignedOut } from "./signaling";
import { $, addToTimeline, setStatus } from "./ui";

let refresher: number | undefined;
let registeredOnce = false;

const heartbeat = new Heartbeat(() => dash.signaling, (reachable) => {
  if (reachable) {
    if (dash.stale) { dash.stale = false; setStatus(page.status, "Connected", "online"); void refreshKiosks(); }
  } else {
    dash.stale = true;
    setStatus(page.status, heldSessions().length > 0 ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
    renderKiosks();
  }
});

// Remember the choice of relay-only ICE (also settable with ?relay=1, for checking TURN).
page.relayOnly.checked = new URLSearchParams(location.search).get("relay") === "1";
page.relayOnly.addEventListener("change", () => {
  // A running tile keeps the path it has; say so instead of leaving people to wonder.
  if (heldSessions().length > 0) {
    addToTimeline(page.timeline, `Relay only is ${page.relayOnly.checked ? "on" : "off"} for tiles started from now on; press Stop and Start to apply it to a running tile.`);
  }
});

setUpSignIn(connect);

async function connect(id: string): Promise<void> {
  dash.monitorId = id;
  dash.signaling = new Signaling(dash.tokens, { onMessage, onConnected, onDisconnected, onSignedOut });
  await dash.signaling.start();
  $("#monitor-id").textContent = dash.monitorId;
  window.clearInterval(refresher);
  refresher = window.setInterval(() => void refreshKiosks(), 10_000);
  void startConsole(dash.tokens).catch(() => undefined);
  page.signOut.hidden = false;
}

// Signing out stops this dashboard (its sessions end, the kiosks are told) and forgets the in-memory sign-in; other
// screens signed in with the same account stay as they are.
page.signOut.addEventListener("click", () => {
  const active = dash.signaling;
  dash.signaling = undefined;
  stopEverything();
  active?.stop();
  dash.tokens = async () => { throw new ApiError(401, "unauthorized", "Not signed in."); };
  dash.kiosks.clear();
  renderKiosks();
  setStatus(page.status, "Signed out", "offline");
  page.signInForm.hidden = false;
  addToTimeline(page.timeline, "Signed out");
});

function stopEverything(): void {
  heartbeat.stop();
  registeredOnce = false;
  window.clearInterval(refresher);
  stopConsole();
  page.signOut.hidden = true;
  for (const kioskId of [...dash.tiles.keys()]) closeTile(kioskId);
}

function onSignedOut(reason: string): void {
  stopEverything();
  dash.signaling = undefined;
  showSignedOut(page.signInForm, page.signInError, page.status, page.timeline, reason);
}

function onConnected(): void {
  const resume = heldSessions();
  setStatus(page.status, resume.length > 0 ? "Reconnecting to RailCloud… video continues" : "Connecting…", "connecting");
  // A new connection names the sessions this page still holds; their video never depended on the connection.
  void dash.signaling?.send("register-monitor", { resume })
    .catch((e: Error) => addToTimeline(page.timeline, `Could not register yet (${e.message}); it is tried again with the next connection`, "error"));
}

function onDisconnected(reason: string): void {
  heartbeat.stop();
  dash.stale = true;
  const watching = heldSessions().length > 0;
  setStatus(page.status, watching ? "Reconnecting to RailCloud… video continues" : "Offline – reconnecting…", watching ? "degraded" : "offline");
  addToTimeline(page.timeline, reason ? `Connection to RailCloud lost (${reason}); reconnecting` : "Connection to RailCloud lost; reconnecting", "error");
  renderKiosks();
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered":
      if ("kiosks" in message) {
        // The backend says who we are (an Entra ID user's RailCloud id may differ from their user name).
        dash.monitorId = message.id;
        $("#monitor-id").textContent = dash.monitorId;
        dash.stale = false;
        setStatus(page.status, "Connected", "online");
        dash.heartbeatSeconds = message.heartbeatSeconds ?? 30;
        heartbeat.start(dash.heartbeatSeconds);
        setKiosks(message.kiosks);
        onRegistered(message);
        if (!registeredOnce) {
          registeredOnce = true;
          restoreWall();
        }
        renderKiosks();
      }
      break;
    case "kiosk-online":
    case "kiosk-offline":
      if (onPresence(message).online) onKioskBack(message.kioskId);
      break;
    case "crew-sign-on":
    case "crew-sign-off":
      onCrew(message);
      break;
    case "monitoring-started":
      if ("iceServers" in message && !("monitorId" in message)) void onStarted(message);
      break;
    case "monitoring-stopped":
      onStopped(message);
      break;
    case "monitoring-ended":
      onEnded(message);
      break;
    case "answer":
      onAnswer(message);
      break;
    case "ice-candidate":
      onCandidate(message);
      break;
    case "error":
      if (message.requestEvent === "heartbeat-ping") heartbeat.refused();
      else if (onStartRefused(message)) break;
      else if (message.requestEvent === "ice-candidate" || (message.code === "no-session" && message.requestEvent !== "stop-monitoring")) {
        // A candidate or offer that crossed the end of its session (typical while recovering): nothing to act on.
        addToTimeline(page.timeline, explain(message.code, message.message), "info");
      } else {
        showError(explain(message.code, message.message));
      }
      break;
  }
}
