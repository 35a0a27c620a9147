namespace RailCloud.Benchmarks;

/// <summary>The scripts the time-to-first-frame benchmark puts in its pages.</summary>
public static class WanPages
{
    /// <summary>
    /// Every peer connection relays through TURN, as two peers behind carrier-grade NAT must: the network's doing,
    /// not the page's, so the product pages and the baseline get it alike.
    /// </summary>
    public const string RelayOnly = """
        (() => {
          const Native = window.RTCPeerConnection;
          if (!Native) return;
          window.RTCPeerConnection = class extends Native {
            constructor(config) { super({ ...(config ?? {}), iceTransportPolicy: "relay" }); }
          };
        })();
        """;

    /// <summary>The baseline's answering side: the camera open, one connection to the plain relay, a peer per offer.</summary>
    public const string BaselineKiosk = """
        async ({ relayUrl, iceServers }) => {
          const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: false });
          const ws = await new Promise((resolve, reject) => { const s = new WebSocket(relayUrl); s.onopen = () => resolve(s); s.onerror = reject; });
          let pc, early = [];
          ws.onmessage = async (e) => {
            const m = JSON.parse(e.data);
            if (m.offer) {
              pc?.close();
              pc = new RTCPeerConnection({ iceServers });
              const mine = pc;
              camera.getTracks().forEach((t) => mine.addTrack(t, camera));
              mine.onicecandidate = (ev) => ev.candidate && ws.send(JSON.stringify({ candidate: ev.candidate.toJSON() }));
              await mine.setRemoteDescription(m.offer);
              for (const c of early.splice(0)) await mine.addIceCandidate(c).catch(() => {});
              const answer = await mine.createAnswer();
              await mine.setLocalDescription(answer);
              ws.send(JSON.stringify({ answer: { type: "answer", sdp: answer.sdp } }));
            } else if (m.candidate) {
              if (pc?.remoteDescription) await pc.addIceCandidate(m.candidate).catch(() => {}); else early.push(m.candidate);
            } else if (m.stop) {
              pc?.close(); pc = undefined; early = [];
            }
          };
        }
        """;

    /// <summary>The baseline's watching side: <c>window.baselineRound()</c> offers, trickles, and resolves with the ms from start to the first decoded frame.</summary>
    public const string BaselineMonitor = """
        async ({ relayUrl, iceServers }) => {
          const ws = await new Promise((resolve, reject) => { const s = new WebSocket(relayUrl); s.onopen = () => resolve(s); s.onerror = reject; });
          let pc, early = [];
          ws.onmessage = async (e) => {
            const m = JSON.parse(e.data);
            if (!pc) return;
            if (m.answer) {
              await pc.setRemoteDescription(m.answer);
              for (const c of early.splice(0)) await pc.addIceCandidate(c).catch(() => {});
            } else if (m.candidate) {
              if (pc.remoteDescription) await pc.addIceCandidate(m.candidate).catch(() => {}); else early.push(m.candidate);
            }
          };
          window.baselineRound = async () => {
            const t0 = performance.now();
            early = [];
            pc = new RTCPeerConnection({ iceServers });
            const mine = pc;
            mine.addTransceiver("video", { direction: "recvonly" });
            mine.onicecandidate = (ev) => ev.candidate && ws.send(JSON.stringify({ candidate: ev.candidate.toJSON() }));
            const video = document.createElement("video");
            video.muted = true; video.playsInline = true; video.autoplay = true;
            document.body.append(video);
            const first = new Promise((resolve) => video.addEventListener("loadeddata", () => resolve(performance.now()), { once: true }));
            mine.ontrack = (ev) => { video.srcObject = ev.streams[0] ?? new MediaStream([ev.track]); video.play().catch(() => {}); };
            const offer = await mine.createOffer();
            await mine.setLocalDescription(offer);
            ws.send(JSON.stringify({ offer: { type: "offer", sdp: offer.sdp } }));
            const t1 = await first;
            mine.close(); pc = undefined; video.remove();
            ws.send(JSON.stringify({ stop: true }));
            return t1 - t0;
          };
        }
        """;
}
