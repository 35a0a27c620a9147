// The kiosk page: camera preview, presence, "being viewed" indicator, crew sign-on/off, and the answering side
// of WebRTC. Meant to run unattended: it reconnects by itself and keeps its camera on.
import { ApiError } from "./api";
import { DeviceSignIn, enrol, forgetDevice, storedDevice } from "./device";
import { Signaling, explain, endReasons, rtcConfiguration, onSignIn, showSignedOut, type ServerMessage, type TokenSource } from "./signaling";
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
let heartbeat: number | undefined;
let session: { sessionId: string; monitorId: string; pc: RTCPeerConnection; pending: RTCIceCandidateInit[]; iceServers: any[] } | undefined;
const crewOnDuty = new Map<string, string | undefined>();

async function connect(signIn: { account: { id: string }; token: TokenSource }): Promise<void> {
  kioskId = signIn.account.id;
  if (!camera) await startCamera();
  signaling = new Signaling((renew) => signIn.token(renew), { onMessage, onConnected, onDisconnected, onSignedOut });
  await signaling.start();
  $("#kiosk-id").textContent = kioskId;
  enrolForm.hidden = true;
  signOut.hidden = false;
}

// Signing out here only stops this page (the sign-in lived in memory); other devices of the kiosk stay online.
signOut.addEventListener("click", () => void (async () => {
  window.clearInterval(heartbeat);
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
  window.clearInterval(heartbeat);
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
      const wait = Math.min(30, 2 ** Math.min(attempt, 5));
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

crewForm.addEventListener("submit", async (event) => {
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
  if (!signOn && !crewOnDuty.has(crewId)) {
    addToTimeline(timeline, `Crew ${crewId} is not signed on here`, "error");
    return;
  }
  await signaling.send(signOn ? "crew-sign-on" : "crew-sign-off", signOn ? { crewId, name: name || undefined } : { crewId });
  if (signOn) crewOnDuty.set(crewId, name || undefined); else crewOnDuty.delete(crewId);
  renderCrew();
  addToTimeline(timeline, signOn ? `Crew ${crewId} signed on` : `Crew ${crewId} signed off`);
  crewForm.reset();
});

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
  setStatus(status, "Connecting…", "connecting");
  // A new connection (not a recovered one) must register again; the backend replaces the older one.
  void signaling?.send("register-kiosk", {}).catch((e) => addToTimeline(timeline, `Register failed: ${e.message}`, "error"));
}

function onDisconnected(reason: string): void {
  setStatus(status, "Offline – reconnecting…", "offline");
  addToTimeline(timeline, reason ? `Connection lost (${reason}); reconnecting` : "Connection lost; reconnecting", "error");
  window.clearInterval(heartbeat);
  endSession();
}

function onMessage(message: ServerMessage): void {
  switch (message.event) {
    case "registered":
      // Who is on duty here comes from the backend, so a reloaded page shows the same crew as the dashboard.
      crewOnDuty.clear();
      for (const member of message.crew ?? []) crewOnDuty.set(member.crewId, member.name ?? undefined);
      renderCrew();
      if (camera) setStatus(status, "Online", "online");
      else setStatus(status, "Online – no camera", "connecting");
      addToTimeline(timeline, "Online");
      window.clearInterval(heartbeat);
      heartbeat = window.setInterval(() => void signaling?.send("heartbeat-ping", {}).catch(() => undefined), (message.heartbeatSeconds ?? 30) * 1000);
      break;
    case "monitoring-started":
      endSession();
      session = { sessionId: message.sessionId, monitorId: message.monitorId, pc: createPeer(message.monitorId, message.iceServers ?? []), pending: [], iceServers: message.iceServers ?? [] };
      setStatus(viewer, `Being viewed by ${message.monitorId}`, "viewed");
      addToTimeline(timeline, `Being viewed by ${message.monitorId}`);
      break;
    case "offer":
      void answer(message);
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
      addToTimeline(timeline, `${message.requestEvent}: ${explain(message.code, message.message)}`, "error");
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
  crewList.replaceChildren(...[...crewOnDuty].map(([id, name]) => {
    const item = document.createElement("li");
    item.textContent = name ? `${id} – ${name}` : id;
    return item;
  }));
  $("#crew-empty").hidden = crewOnDuty.size > 0;
}

// For tests and diagnostics: what the page is doing, without reading the DOM.
(window as any).railcloudKiosk = () => ({ kioskId, status: status.dataset.state, viewer: viewer.textContent, session: session && { id: session.sessionId, state: session.pc.connectionState } });
