// The kiosk page: camera preview, presence, "being viewed" indicator, crew sign-on/off, and the answering side
// of WebRTC. Meant to run unattended: it reconnects by itself and keeps its camera on. This module connects to
// RailCloud and hands each message to the part of the page it is about.
import type { RenewingSignIn } from "./api";
import { storedDevice } from "./device";
import { answer, beginSession, endSession, hasCamera, startCamera } from "./kiosk/answering";
import { flushCrew, loadQueue, queued, refused, setOnDuty } from "./kiosk/crew";
import { deviceRemoved, setUpDevice } from "./kiosk/enrolment";
import { kiosk, page } from "./kiosk/state";
import type { ServerMessage } from "./protocol";
import { Heartbeat, Signaling, endReasons, explain, onSignIn, showSignedOut } from "./signaling";
import { $, addToTimeline, setStatus } from "./ui";

// What the page last knew to be true, so the status pill can be put back after an outage.
const heartbeat = new Heartbeat(() => kiosk.signaling, (reachable) => {
  if (!kiosk.registered) return;
  if (reachable) { showOnline(); void flushCrew(); }
  else setStatus(page.status, kiosk.session ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
});

async function connect(signIn: RenewingSignIn): Promise<void> {
  kiosk.id = signIn.account.id;
  loadQueue();
  if (!hasCamera()) await startCamera();
  kiosk.signaling = new Signaling((renew) => signIn.token(renew), { onMessage, onConnected, onDisconnected, onSignedOut });
  await kiosk.signaling.start();
  $("#kiosk-id").textContent = kiosk.id;
  page.enrolForm.hidden = true;
  page.signOut.hidden = false;
}

// Signing out here only stops this page (the sign-in lived in memory); other devices of the kiosk stay online.
page.signOut.addEventListener("click", () => void (async () => {
  heartbeat.stop();
  kiosk.registered = false;
  endSession();
  kiosk.signaling?.stop();
  kiosk.signaling = undefined;
  page.signOut.hidden = true;
  setStatus(page.status, "Signed out", "offline");
  page.signInForm.hidden = false;
  const enrolled = await storedDevice().catch(() => undefined);
  page.enrolForm.hidden = enrolled !== undefined;
  addToTimeline(page.timeline, enrolled ? "Signed out. This device stays enrolled: reload the page to sign in with it again." : "Signed out");
})());

onSignIn(page.signInForm, page.signInError, page.status, ["kiosk"], "kiosk", connect);
void setUpDevice(connect);

function onSignedOut(reason: string, code: string): void {
  page.signOut.hidden = true;
  heartbeat.stop();
  kiosk.registered = false;
  endSession();
  kiosk.signaling = undefined;
  if (code === "device-revoked" || code === "device-unknown") void deviceRemoved(explain(code, reason));
  else showSignedOut(page.signInForm, page.signInError, page.status, page.timeline, reason);
}

function onConnected(): void {
  setStatus(page.status, kiosk.session ? "Reconnecting to RailCloud… video continues" : "Connecting…", "connecting");
  // A new connection (not a recovered one) registers again, naming the session this page still holds: the backend
  // moves it to this connection, and the video, which never depended on the connection, goes on.
  const resume = kiosk.session ? [kiosk.session.sessionId] : [];
  void kiosk.signaling?.send("register-kiosk", { resume })
    .catch((e: Error) => addToTimeline(page.timeline, `Could not register yet (${e.message}); it is tried again with the next connection`, "error"));
}

function onDisconnected(reason: string): void {
  kiosk.registered = false;
  heartbeat.stop();
  // The peer connection stays: video flows between the peers, not through RailCloud.
  setStatus(page.status, kiosk.session ? "Reconnecting to RailCloud… video continues" : "Offline – reconnecting…", kiosk.session ? "degraded" : "offline");
  addToTimeline(page.timeline, reason ? `Connection to RailCloud lost (${reason}); reconnecting` : "Connection to RailCloud lost; reconnecting", "error");
}

function showOnline(): void {
  if (hasCamera()) setStatus(page.status, "Online", "online");
  else setStatus(page.status, "Online – no camera", "connecting");
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered": {
      if (!("crew" in message)) break;
      // Who is on duty here comes from the backend, so a reloaded page shows the same crew as the dashboard.
      setOnDuty(message.crew ?? []);
      const session = kiosk.session;
      if (session && (message.resumed ?? []).includes(session.sessionId)) {
        addToTimeline(page.timeline, `Back online; still viewed by ${session.monitorId} (the video never stopped)`);
      } else if (session) {
        addToTimeline(page.timeline, `Back online; the session with ${session.monitorId} had ended meanwhile`);
        endSession();
      }
      kiosk.registered = true;
      showOnline();
      if (!session) addToTimeline(page.timeline, "Online");
      heartbeat.start(message.heartbeatSeconds ?? 30);
      void flushCrew();
      break;
    }
    case "monitoring-started":
      if ("monitorId" in message) {
        beginSession(message.sessionId, message.monitorId, message.iceServers ?? []);
        addToTimeline(page.timeline, `Being viewed by ${message.monitorId}`);
      }
      break;
    case "offer":
      void answer(message).catch((e: Error) => addToTimeline(page.timeline, `Could not answer ${message.fromId}: ${e.message}`, "error"));
      break;
    case "ice-candidate":
      if (kiosk.session && message.sessionId === kiosk.session.sessionId) kiosk.session.remote.addCandidate(message.candidate);
      break;
    case "monitoring-ended":
      if (kiosk.session?.sessionId === message.sessionId) {
        addToTimeline(page.timeline, `No longer viewed: ${endReasons[message.reason] ?? message.reason}`);
        endSession();
      }
      break;
    case "error":
      if (message.requestEvent === "crew-sign-on" || message.requestEvent === "crew-sign-off") {
        refused(message);
      } else if (message.requestEvent === "heartbeat-ping") {
        heartbeat.refused();
      } else if (message.requestEvent === "ice-candidate" && message.code === "no-session") {
        // A candidate that crossed the end of its session: nothing anyone can act on.
      } else {
        addToTimeline(page.timeline, `${message.requestEvent}: ${explain(message.code, message.message)}`, "error");
      }
      break;
  }
}

// For tests and diagnostics: what the page is doing, without reading the DOM.
window.railcloudKiosk = () => ({ kioskId: kiosk.id, status: page.status.dataset.state, viewer: page.viewer.textContent, queued: queued(), session: kiosk.session && { id: kiosk.session.sessionId, state: kiosk.session.pc.connectionState } });
