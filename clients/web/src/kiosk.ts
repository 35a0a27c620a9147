// The kiosk page: camera preview, presence, "being viewed" indicator, crew sign-on/off, and the answering side
// of WebRTC. Meant to run unattended: it reconnects by itself and keeps its camera on.
import { ApiError } from "./api";
import { DeviceSignIn, enrol, forgetDevice, storedDevice } from "./device";
import { Heartbeat, Signaling, explain, endReasons, rtcConfiguration, onSignIn, showSignedOut, type ServerMessage, type TokenSource } from "./signaling";
import { $, addToTimeline, setStatus } from "./ui";

const status = $("#status");
const viewer = $("#viewer");
const timeline = $("#timeline");
const preview = $<HTMLVideoElement>("#preview");
const signInForm = $<HTMLFormElement>("#sign-in");
const signInError = $("#sign-in-error");
const enrolForm = $<HTMLFormElement>("#enrol");
const enrolError = $("#enrol-error");
const signOut = $<HTMLButtonElement>("#sign-out");
const crewForm = $<HTMLFormElement>("#crew");
const crewList = $("#crew-list");

let signaling: Signaling | undefined;
let kioskId = "";
let camera: MediaStream | undefined;
let session: { sessionId: string; monitorId: string; pc: RTCPeerConnection; pending: RTCIceCandidateInit[]; iceServers: any[] } | undefined;
const crewOnDuty = new Map<string, string | undefined>();
/** Crew sign-ons and sign-offs not yet acknowledged by RailCloud: shown as queued, sent when it is back, kept across a reload. */
type CrewRequest = { event: "crew-sign-on" | "crew-sign-off"; crewId: string; name?: string };
let crewQueue: CrewRequest[] = [];
let registered = false;
let flushing = false;
/** The backend's refusal of the crew event in flight (it arrives before the event's ack). */
let crewRefusal: ServerMessage | undefined;
// What the page last knew to be true, so the status pill can be put back after an outage.
const heartbeat = new Heartbeat(() => signaling, (reachable) => {
  if (!registered) return;
  if (reachable) { showOnline(); void flushCrew(); }
  else setStatus(status, session ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
});

async function connect(signIn: { account: { id: string }; token: TokenSource }): Promise<void> {
  kioskId = signIn.account.id;
  crewQueue = loadCrewQueue();
  renderCrew();
  if (!camera) await startCamera();
  signaling = new Signaling((renew) => signIn.token(renew), { onMessage, onConnected, onDisconnected, onSignedOut });
  await signaling.start();
  $("#kiosk-id").textContent = kioskId;
  enrolForm.hidden = true;
  signOut.hidden = false;
}

// Signing out here only stops this page (the sign-in lived in memory); other devices of the kiosk stay online.
signOut.addEventListener("click", () => void (async () => {
  heartbeat.stop();
  registered = false;
  endSession();
  signaling?.stop();
  signaling = undefined;
  signOut.hidden = true;
  setStatus(status, "Signed out", "offline");
  signInForm.hidden = false;
  const enrolled = await storedDevice().catch(() => undefined);
  enrolForm.hidden = enrolled !== undefined;
  addToTimeline(timeline, enrolled ? "Signed out. This device stays enrolled: reload the page to sign in with it again." : "Signed out");
})());

onSignIn(signInForm, signInError, status, ["kiosk"], "kiosk", connect);

function onSignedOut(reason: string, code: string): void {
  signOut.hidden = true;
  heartbeat.stop();
  registered = false;
  endSession();
  signaling = undefined;
  if (code === "device-revoked" || code === "device-unknown") void deviceRemoved(explain(code, reason));
  else showSignedOut(signInForm, signInError, status, timeline, reason);
}

// ---- Enrolled devices: sign in by themselves, for ever ----

enrolForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const data = new FormData(enrolForm);
  void enrolAndConnect(String(data.get("code")), String(data.get("name") ?? "").trim() || undefined);
});

async function enrolAndConnect(code: string, name: string | undefined): Promise<void> {
  enrolError.textContent = "";
  try {
    setStatus(status, "Enrolling…", "connecting");
    const device = await enrol(code, name);
    addToTimeline(timeline, `Enrolled as a device of ${device.kioskId}; it will sign in by itself from now on`);
    signInForm.hidden = true;
    await signInAsDevice(device);
  } catch (e) {
    setStatus(status, "Signed out", "offline");
    enrolError.textContent = e instanceof ApiError ? explain(e.code, e.message) : `Could not enrol: ${(e as Error).message}`;
  }
}

/** Signs in with the stored key, retrying with backoff while RailCloud cannot be reached: nobody is there to press a button. */
async function signInAsDevice(device: NonNullable<Awaited<ReturnType<typeof storedDevice>>>): Promise<void> {
  enrolForm.hidden = true;
  signInForm.hidden = true;
  for (let attempt = 0; ; attempt++) {
    setStatus(status, "Signing in…", "connecting");
    try {
      await connect(await DeviceSignIn.start(device));
      return;
    } catch (e) {
      signaling?.stop();
      signaling = undefined;
      if (e instanceof ApiError && (e.code === "device-revoked" || e.code === "device-unknown")) {
        await deviceRemoved(explain(e.code, e.message));
        return;
      }
      // Backoff with jitter: a depot's kiosks that lost power together do not all retry in the same second.
      const wait = Math.round(Math.min(30, 2 ** Math.min(attempt, 5)) * (1 + Math.random() / 2));
      setStatus(status, "Offline – retrying sign-in…", "offline");
      addToTimeline(timeline, `Sign-in failed (${e instanceof ApiError ? explain(e.code, e.message) : (e as Error).message}); retrying in ${wait} s`, "error");
      await new Promise((resolve) => window.setTimeout(resolve, wait * 1000));
    }
  }
}

/** The device was revoked (or its record is gone): forget the key and offer enrolment again. */
async function deviceRemoved(message: string): Promise<void> {
  await forgetDevice().catch(() => undefined);
  setStatus(status, "Device removed", "offline");
  enrolError.textContent = message;
  enrolForm.hidden = false;
  signInForm.hidden = false;
  addToTimeline(timeline, message, "error");
}

async function start(): Promise<void> {
  const code = new URLSearchParams(location.search).get("enrol");
  // The code works once: a reload must not try it again, and it should not linger in the address bar.
  if (code) history.replaceState(null, "", location.pathname);
  const device = await storedDevice().catch(() => undefined);
  if (device) {
    await signInAsDevice(device);
  } else if (code) {
    $<HTMLInputElement>("#enrol-code").value = code;
    await enrolAndConnect(code, undefined);
  }
}

void start();

crewForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
  const data = new FormData(crewForm);
  const crewId = String(data.get("crewId")).trim();
  const name = String(data.get("name") ?? "").trim();
  if (!crewId) return;
  if (!signaling) {
    addToTimeline(timeline, "Sign in first: crew sign-on and sign-off need the kiosk to be signed in.", "error");
    return;
  }
  const signOn = submitter?.value !== "off";
  const queuedOn = crewQueue.some((r) => r.crewId === crewId && r.event === "crew-sign-on");
  if (!signOn && !crewOnDuty.has(crewId) && !queuedOn) {
    addToTimeline(timeline, `Crew ${crewId} is not signed on here`, "error");
    return;
  }
  crewQueue.push(signOn ? { event: "crew-sign-on", crewId, name: name || undefined } : { event: "crew-sign-off", crewId });
  saveCrewQueue();
  renderCrew();
  crewForm.reset();
  void flushCrew();
});

/** Sends the queued crew events in order; one that cannot be delivered stays queued (and visible) until RailCloud is back. */
async function flushCrew(): Promise<void> {
  if (flushing || !registered) return;
  flushing = true;
  try {
    while (crewQueue.length > 0 && signaling && registered) {
      const request = crewQueue[0];
      const who = request.name ? `${request.crewId} (${request.name})` : request.crewId;
      crewRefusal = undefined;
      try {
        await signaling.send(request.event, request.event === "crew-sign-on" ? { crewId: request.crewId, name: request.name } : { crewId: request.crewId });
      } catch {
        addToTimeline(timeline, `Crew ${who}: not recorded yet, RailCloud can't be reached. It stays queued and is sent when RailCloud is back.`, "error");
        setStatus(status, session ? "Can't reach RailCloud; video continues" : "Can't reach RailCloud; retrying", "degraded");
        return;
      }
      crewQueue.shift();
      saveCrewQueue();
      const refusal = crewRefusal as ServerMessage | undefined;
      if (refusal?.code === "rate-limited") {
        // A long queue sent at once goes past the allowance (a burst of 40, then 20 a second): wait for it, keep the order.
        crewQueue.unshift(request);
        saveCrewQueue();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (refusal?.code === "unavailable") {
        // Storage was down: the backend recorded nothing. Keep it (first in line) for the next try.
        crewQueue.unshift(request);
        saveCrewQueue();
        renderCrew();
        return;
      }
      if (refusal) {
        addToTimeline(timeline, `Crew ${who}: ${explain(refusal.code, refusal.message)}`, "error");
      } else {
        if (request.event === "crew-sign-on") crewOnDuty.set(request.crewId, request.name); else crewOnDuty.delete(request.crewId);
        addToTimeline(timeline, request.event === "crew-sign-on" ? `Crew ${who} signed on` : `Crew ${request.crewId} signed off`);
      }
      renderCrew();
    }
  } finally {
    flushing = false;
  }
}

function crewQueueKey(): string { return `railcloud.kiosk.${kioskId}.crew-queue`; }

function loadCrewQueue(): CrewRequest[] {
  try {
    const stored = JSON.parse(localStorage.getItem(crewQueueKey()) ?? "[]");
    return Array.isArray(stored) ? stored.filter((r) => r && typeof r.crewId === "string" && (r.event === "crew-sign-on" || r.event === "crew-sign-off")) : [];
  } catch {
    return [];
  }
}

function saveCrewQueue(): void {
  try {
    if (crewQueue.length > 0) localStorage.setItem(crewQueueKey(), JSON.stringify(crewQueue));
    else localStorage.removeItem(crewQueueKey());
  } catch { /* storage full or denied: the queue still lives in this page */ }
}

async function startCamera(): Promise<void> {
  const warning = $("#camera-warning");
  try {
    camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: false });
    preview.srcObject = camera;
    warning.hidden = true;
  } catch (error) {
    const why = (error as Error).name === "NotAllowedError" ? "access to the camera was denied" : (error as Error).message || "no camera was found";
    // Said where a person at the kiosk sees it; monitors see "The kiosk has no camera" on their tile.
    warning.textContent = `No camera: ${why}. Monitors will see that this kiosk sends no video.`;
    warning.hidden = false;
    addToTimeline(timeline, `Camera unavailable: ${why}`, "error");
  }
}

function onConnected(): void {
  setStatus(status, session ? "Reconnecting to RailCloud… video continues" : "Connecting…", "connecting");
  // A new connection (not a recovered one) registers again, naming the session this page still holds: the backend
  // moves it to this connection, and the video, which never depended on the connection, goes on.
  const resume = session ? [session.sessionId] : [];
  void signaling?.send("register-kiosk", { resume }).catch((e) => addToTimeline(timeline, `Could not register yet (${e.message}); it is tried again with the next connection`, "error"));
}

function onDisconnected(reason: string): void {
  registered = false;
  heartbeat.stop();
  // The peer connection stays: video flows between the peers, not through RailCloud.
  setStatus(status, session ? "Reconnecting to RailCloud… video continues" : "Offline – reconnecting…", session ? "degraded" : "offline");
  addToTimeline(timeline, reason ? `Connection to RailCloud lost (${reason}); reconnecting` : "Connection to RailCloud lost; reconnecting", "error");
}

function showOnline(): void {
  if (camera) setStatus(status, "Online", "online");
  else setStatus(status, "Online – no camera", "connecting");
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered": {
      // Who is on duty here comes from the backend, so a reloaded page shows the same crew as the dashboard.
      crewOnDuty.clear();
      for (const member of message.crew ?? []) crewOnDuty.set(member.crewId, member.name ?? undefined);
      renderCrew();
      const wasResuming = session !== undefined;
      if (session && (message.resumed ?? []).includes(session.sessionId)) {
        addToTimeline(timeline, `Back online; still viewed by ${session.monitorId} (the video never stopped)`);
      } else if (session) {
        addToTimeline(timeline, `Back online; the session with ${session.monitorId} had ended meanwhile`);
        endSession();
      }
      registered = true;
      showOnline();
      if (!wasResuming) addToTimeline(timeline, "Online");
      heartbeat.start(message.heartbeatSeconds ?? 30);
      void flushCrew();
      break;
    }
    case "monitoring-started":
      endSession();
      session = { sessionId: message.sessionId, monitorId: message.monitorId, pc: createPeer(message.monitorId, message.iceServers ?? []), pending: [], iceServers: message.iceServers ?? [] };
      setStatus(viewer, `Being viewed by ${message.monitorId}`, "viewed");
      addToTimeline(timeline, `Being viewed by ${message.monitorId}`);
      break;
    case "offer":
      void answer(message).catch((e) => addToTimeline(timeline, `Could not answer ${message.fromId}: ${(e as Error).message}`, "error"));
      break;
    case "ice-candidate":
      if (session && message.sessionId === session.sessionId) {
        if (session.pc.remoteDescription) void session.pc.addIceCandidate(message.candidate).catch(() => undefined);
        else session.pending.push(message.candidate);
      }
      break;
    case "monitoring-ended":
      if (session?.sessionId === message.sessionId) {
        addToTimeline(timeline, `No longer viewed: ${endReasons[message.reason] ?? message.reason}`);
        endSession();
      }
      break;
    case "heartbeat-pong":
      break;
    case "error":
      if (message.requestEvent === "crew-sign-on" || message.requestEvent === "crew-sign-off") {
        crewRefusal = message;
      } else if (message.requestEvent === "heartbeat-ping") {
        heartbeat.refused();
      } else if (message.requestEvent === "ice-candidate" && message.code === "no-session") {
        // A candidate that crossed the end of its session: nothing anyone can act on.
      } else {
        addToTimeline(timeline, `${message.requestEvent}: ${explain(message.code, message.message)}`, "error");
      }
      break;
  }
}

function createPeer(monitorId: string, iceServers: any[]): RTCPeerConnection {
  const pc = new RTCPeerConnection(rtcConfiguration(iceServers, false));
  camera?.getTracks().forEach((track) => pc.addTrack(track, camera!));
  pc.onicecandidate = (e) => {
    if (e.candidate && session?.pc === pc) {
      void signaling?.send("ice-candidate", { targetId: monitorId, candidate: e.candidate.toJSON() }).catch(() => undefined);
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") addToTimeline(timeline, "Video is flowing to the monitor");
  };
  return pc;
}

async function answer(message: ServerMessage): Promise<void> {
  if (!session || message.sessionId !== session.sessionId) {
    // An offer for a session we have not heard of yet (messages can cross): start it from the offer.
    endSession();
    session = { sessionId: message.sessionId, monitorId: message.fromId, pc: createPeer(message.fromId, signaling?.iceServers ?? []), pending: [], iceServers: [] };
    setStatus(viewer, `Being viewed by ${message.fromId}`, "viewed");
  }
  const { pc } = session;
  if (!camera) {
    // Perhaps a camera was plugged in (or allowed) since: try again before answering.
    await startCamera();
    const found = camera as MediaStream | undefined;   // startCamera may have set it
    if (found) {
      found.getTracks().forEach((track) => pc.addTrack(track, found));
      if (status.dataset.state === "connecting") setStatus(status, "Online", "online");
    }
  }
  await pc.setRemoteDescription(message.offer);
  for (const candidate of session.pending.splice(0)) await pc.addIceCandidate(candidate).catch(() => undefined);
  const description = await pc.createAnswer();
  await pc.setLocalDescription(description);
  await signaling?.send("answer", { targetId: message.fromId, answer: { type: "answer", sdp: description.sdp } });
}

function endSession(): void {
  session?.pc.close();
  session = undefined;
  setStatus(viewer, "Not being viewed", "idle");
}

function renderCrew(): void {
  const items = [...crewOnDuty].map(([id, name]) => {
    const item = document.createElement("li");
    item.textContent = name ? `${id} – ${name}` : id;
    return item;
  });
  for (const request of crewQueue) {
    const item = document.createElement("li");
    item.className = "queued";
    const who = request.name ? `${request.crewId} – ${request.name}` : request.crewId;
    item.textContent = `${who}: sign-${request.event === "crew-sign-on" ? "on" : "off"} queued, not yet recorded`;
    items.push(item);
  }
  crewList.replaceChildren(...items);
  $("#crew-empty").hidden = items.length > 0;
}

// For tests and diagnostics: what the page is doing, without reading the DOM.
(window as any).railcloudKiosk = () => ({ kioskId, status: status.dataset.state, viewer: viewer.textContent, queued: crewQueue.length, session: session && { id: session.sessionId, state: session.pc.connectionState } });
