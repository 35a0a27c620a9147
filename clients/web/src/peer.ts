// What both pages do with an RTCPeerConnection: its configuration from RailCloud's ICE servers, the remote candidates
// that come before the remote description (kept, never dropped), and the numbers its stats give.
import type { IceCandidateInit, IceServer } from "./protocol";

/** RTCConfiguration from the backend's ICE servers. */
export function rtcConfiguration(iceServers: IceServer[], relayOnly: boolean): RTCConfiguration {
  return {
    iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
    iceTransportPolicy: relayOnly ? "relay" : "all",
  };
}

/**
 * True when every TURN credential in <paramref name="iceServers"/> is good for <paramref name="minutes"/> more (RailCloud's
 * TURN user names start with their expiry, in Unix seconds); servers without credentials never expire.
 */
export function freshFor(iceServers: IceServer[], minutes: number): boolean {
  if (iceServers.length === 0) return false;
  const until = Date.now() / 1000 + minutes * 60;
  return iceServers.every((s) => {
    const expiry = Number(s.username?.split(":")[0]);
    return !s.username || !Number.isFinite(expiry) || expiry > until;
  });
}

/** A local candidate as the contract sends it. */
export function candidateOf(candidate: RTCIceCandidate): IceCandidateInit {
  return { candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex };
}

/**
 * The remote side of a peer connection: candidates trickle in through RailCloud and may overtake the description
 * they belong to, so those that come first wait for it.
 */
export class RemoteSide {
  private early: RTCIceCandidateInit[] = [];

  constructor(readonly pc: RTCPeerConnection) {}

  /** Adds a remote candidate now, or as soon as the remote description is set. */
  addCandidate(candidate: RTCIceCandidateInit): void {
    if (this.pc.remoteDescription) void this.add(candidate);
    else this.early.push(candidate);
  }

  /** Sets the remote description (an offer or an answer), then adds the candidates that came before it. */
  async accept(description: RTCSessionDescriptionInit): Promise<void> {
    await this.pc.setRemoteDescription(description);
    for (const candidate of this.early.splice(0)) await this.add(candidate);
  }

  /** A candidate the browser refuses (an m-line it does not know, say) costs only that path: say so and go on. */
  private async add(candidate: RTCIceCandidateInit): Promise<void> {
    try {
      await this.pc.addIceCandidate(candidate);
    } catch (error) {
      console.warn(`The other peer's candidate was refused (mid ${candidate.sdpMid ?? "none"}): ${candidate.candidate ?? ""}`, error);
    }
  }
}

/** What a receiving peer's stats say about its video, once a second. */
export interface VideoStats {
  state: RTCPeerConnectionState;
  /** host, srflx or prflx when direct; relay when either side goes through TURN (undefined until a pair is chosen). */
  path?: string;
  rttMs?: number;
  bytesReceived: number;
  fps: number;
  lost: number;
  framesDecoded: number;
  width: number;
  height: number;
  codec: string;
}

type Candidate = RTCStats & { candidateType?: string };
type Codec = RTCStats & { mimeType?: string };

/** Reads a receiving peer's stats: the selected candidate pair (its path and round trip) and the inbound video. */
export async function readVideoStats(pc: RTCPeerConnection): Promise<VideoStats> {
  const report = await pc.getStats();
  const all = [...report.values()] as RTCStats[];
  const byId = (id?: string) => (id ? (report.get(id) as RTCStats | undefined) : undefined);
  const transport = all.find((r): r is RTCTransportStats => r.type === "transport" && !!(r as RTCTransportStats).selectedCandidatePairId);
  const pair = (byId(transport?.selectedCandidatePairId) as RTCIceCandidatePairStats | undefined)
    ?? all.find((r): r is RTCIceCandidatePairStats => r.type === "candidate-pair" && (r as RTCIceCandidatePairStats).state === "succeeded" && !!(r as RTCIceCandidatePairStats).nominated);
  const local = byId(pair?.localCandidateId) as Candidate | undefined;
  const remote = byId(pair?.remoteCandidateId) as Candidate | undefined;
  const video = all.find((r): r is RTCInboundRtpStreamStats => r.type === "inbound-rtp" && (r as RTCInboundRtpStreamStats).kind === "video");
  const codec = byId(video?.codecId) as Codec | undefined;
  return {
    state: pc.connectionState,
    path: pair ? (local?.candidateType === "relay" || remote?.candidateType === "relay" ? "relay" : local?.candidateType ?? "–") : undefined,
    rttMs: pair ? Math.round((pair.currentRoundTripTime ?? 0) * 1000) : undefined,
    bytesReceived: video?.bytesReceived ?? 0,
    fps: Math.round(video?.framesPerSecond ?? 0),
    lost: video?.packetsLost ?? 0,
    framesDecoded: video?.framesDecoded ?? 0,
    width: video?.frameWidth ?? 0,
    height: video?.frameHeight ?? 0,
    codec: codec?.mimeType?.replace("video/", "") ?? "–",
  };
}
