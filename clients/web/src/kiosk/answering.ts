// The answering side of WebRTC: the camera (tried again when a monitor comes and there was none), one peer
// connection per session that answers the monitor's offer and trickles its candidates back.
import { RemoteSide, candidateOf, rtcConfiguration } from "../peer";
import type { IceServer, OfferMessage } from "../protocol";
import { $, addToTimeline, setStatus } from "../ui";
import { kiosk, page } from "./state";

const preview = $<HTMLVideoElement>("#preview");
let camera: MediaStream | undefined;

export const hasCamera = () => camera !== undefined;

export async function startCamera(): Promise<void> {
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
    addToTimeline(page.timeline, `Camera unavailable: ${why}`, "error");
  }
}

/** A monitor watches this kiosk now: a peer connection with the camera, ready for its offer. */
export function beginSession(sessionId: string, monitorId: string, iceServers: IceServer[]): void {
  endSession();
  const pc = new RTCPeerConnection(rtcConfiguration(iceServers, false));
  camera?.getTracks().forEach((track) => pc.addTrack(track, camera!));
  pc.onicecandidate = (e) => {
    if (e.candidate && kiosk.session?.pc === pc) {
      void kiosk.signaling?.send("ice-candidate", { targetId: monitorId, candidate: candidateOf(e.candidate) }).catch(() => undefined);
    }
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") addToTimeline(page.timeline, "Video is flowing to the monitor");
  };
  kiosk.session = { sessionId, monitorId, pc, remote: new RemoteSide(pc) };
  setStatus(page.viewer, `Being viewed by ${monitorId}`, "viewed");
}

export async function answer(message: OfferMessage): Promise<void> {
  if (!kiosk.session || message.sessionId !== kiosk.session.sessionId) {
    // An offer for a session we have not heard of yet (messages can cross): start it from the offer.
    beginSession(message.sessionId, message.fromId, kiosk.signaling?.iceServers ?? []);
  }
  const { pc, remote } = kiosk.session!;
  if (!camera) {
    // Perhaps a camera was plugged in (or allowed) since: try again before answering.
    await startCamera();
    const found = camera as MediaStream | undefined;   // startCamera may have set it
    if (found) {
      found.getTracks().forEach((track) => pc.addTrack(track, found));
      if (page.status.dataset.state === "connecting") setStatus(page.status, "Online", "online");
    }
  }
  await remote.accept({ type: "offer", sdp: message.offer.sdp });
  const description = await pc.createAnswer();
  await pc.setLocalDescription(description);
  await kiosk.signaling?.send("answer", { targetId: message.fromId, answer: { type: "answer", sdp: description.sdp ?? "" } });
}

export function endSession(): void {
  kiosk.session?.pc.close();
  kiosk.session = undefined;
  setStatus(page.viewer, "Not being viewed", "idle");
}
