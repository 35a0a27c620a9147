using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using RailCloud.Media.Native;

namespace RailCloud.Media;


/// <summary>
/// One WebRTC video peer on GStreamer's webrtcbin: either a sender that answers an offer (a kiosk), or a receiver
/// that makes one and counts the frames it decodes (a probe). Local candidates come out through the callback given at
/// creation (on GStreamer's thread: keep it short); remote ones go in with <see cref="AddRemoteCandidate"/>.
/// </summary>
public sealed partial class WebRtcPeer : IDisposable
{
    private readonly IntPtr _pipeline;
    private readonly IntPtr _webrtc;
    private readonly Action<IceCandidate> _onCandidate;
    private readonly GCHandle _self;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _bus;
    private readonly long _createdAt = Stopwatch.GetTimestamp();
    private readonly DirectoryInfo? _snapshots;
    private long _frames;
    private long _firstFrameAt;
    private int _width;
    private int _height;
    private int _endOfCandidatesSent;
    private volatile bool _disposed;

    private WebRtcPeer(IntPtr pipeline, Action<IceCandidate> onCandidate, PeerOptions options, bool snapshots)
    {
        _pipeline = pipeline;
        _onCandidate = onCandidate;
        _snapshots = snapshots ? Directory.CreateTempSubdirectory("railcloud-frames-") : null;
        _webrtc = Gst.BinGetByName(pipeline, "webrtc");
        if (_webrtc == IntPtr.Zero)
        {
            Gst.ObjectUnref(pipeline);
            throw new MediaException("The pipeline has no webrtcbin.");
        }
        _self = GCHandle.Alloc(this);
        Gst.UtilSetObjectArg(_webrtc, "bundle-policy", "max-bundle");
        if (options.RelayOnly)
        {
            Gst.UtilSetObjectArg(_webrtc, "ice-transport-policy", "relay");
        }
        if (Gst.ElementSetState(pipeline, Gst.State.Ready) == Gst.StateChangeFailure)
        {
            Release();
            throw new MediaException("The pipeline would not get ready.");
        }
        ConfigureIce(options);
        unsafe
        {
            var self = GCHandle.ToIntPtr(_self);
            GObject.SignalConnectData(_webrtc, "on-ice-candidate", (delegate* unmanaged<IntPtr, uint, IntPtr, IntPtr, void>)&OnIceCandidate, self, IntPtr.Zero, 0);
            GObject.SignalConnectData(_webrtc, "notify::ice-connection-state", (delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&OnStateNotify, self, IntPtr.Zero, 0);
            GObject.SignalConnectData(_webrtc, "notify::ice-gathering-state", (delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&OnStateNotify, self, IntPtr.Zero, 0);
            GObject.SignalConnectData(_webrtc, "pad-added", (delegate* unmanaged<IntPtr, IntPtr, IntPtr, void>)&OnPadAdded, self, IntPtr.Zero, 0);
        }
        var bus = Gst.ElementGetBus(pipeline);
        _bus = Task.Factory.StartNew(() => WatchBus(bus), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>The ICE connection state, as the browser names it (new, checking, connected, completed, failed, disconnected, closed).</summary>
    public string IceConnectionState { get; private set; } = "new";

    /// <summary>Raised on a thread of its own when the ICE connection state changes.</summary>
    public event Action<string>? IceConnectionStateChanged;

    /// <summary>GStreamer's error, if the pipeline failed (then no more media flows).</summary>
    public string? Error { get; private set; }

    /// <summary>Raised once when the pipeline fails.</summary>
    public event Action<string>? Failed;

    /// <summary>Frames decoded so far (a receiver), when the first came, and their size.</summary>
    public ReceiverStats Received
    {
        get
        {
            var first = Interlocked.Read(ref _firstFrameAt);
            return new ReceiverStats(Interlocked.Read(ref _frames), first == 0 ? null : Stopwatch.GetElapsedTime(_createdAt, first), first == 0 ? null : first, Volatile.Read(ref _width), Volatile.Read(ref _height));
        }
    }

    // ---- Sender: a kiosk answers the monitor's offer ----

    /// <summary>
    /// Answers <paramref name="offerSdp"/> with video from <paramref name="source"/>. The VP8 payload type is taken from
    /// the offer (webrtcbin 1.22 answers "inactive" when its own differs); the offer must ask to receive VP8.
    /// </summary>
    public static async Task<(WebRtcPeer Peer, string Answer)> AnswerAsync(string offerSdp, VideoSource source, PeerOptions options, Action<IceCandidate> onCandidate, CancellationToken cancellationToken = default)
    {
        GStreamer.EnsureAvailable();
        var payloadType = Vp8PayloadType(offerSdp) ?? throw new MediaException("The offer does not offer VP8 video (no a=rtpmap:<pt> VP8/90000).");
        var description = $"{source.Pipeline} ! videoconvert ! queue max-size-buffers=2 leaky=downstream ! "
            + "vp8enc deadline=1 cpu-used=8 threads=2 error-resilient=partitions keyframe-max-dist=30 target-bitrate=800000 ! "
            + $"rtpvp8pay pt={payloadType} picture-id-mode=15-bit ! application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload={payloadType} ! webrtcbin name=webrtc";
        var pipeline = Gst.ParseLaunch(description, out var error);
        if (error != IntPtr.Zero || pipeline == IntPtr.Zero)
        {
            if (pipeline != IntPtr.Zero)
            {
                Gst.ObjectUnref(pipeline);
            }
            throw new MediaException($"GStreamer refused the sending pipeline: {GLib.TakeError(error)}");
        }
        var peer = new WebRtcPeer(pipeline, onCandidate, options, snapshots: false);
        try
        {
            peer.Play();
            await peer.SetDescriptionAsync("set-remote-description", GstWebRtc.SdpTypeOffer, offerSdp, cancellationToken).ConfigureAwait(false);
            var answer = await peer.CreateAsync("create-answer", "answer", cancellationToken).ConfigureAwait(false);
            return (peer, answer);
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    // ---- Receiver: a probe offers to receive VP8 and counts decoded frames ----

    /// <summary>
    /// Makes an offer to receive one VP8 video stream at <paramref name="payloadType"/>. Frames are decoded and counted
    /// as they arrive; with <paramref name="snapshots"/>, JPEGs are kept for <see cref="SaveSnapshot"/>.
    /// </summary>
    public static async Task<(WebRtcPeer Peer, string Offer)> OfferToReceiveAsync(PeerOptions options, Action<IceCandidate> onCandidate, bool snapshots = false, int payloadType = 96, CancellationToken cancellationToken = default)
    {
        GStreamer.EnsureAvailable();
        var pipeline = Gst.PipelineNew("receiver");
        var webrtc = Gst.ElementFactoryMake("webrtcbin", "webrtc");
        if (pipeline == IntPtr.Zero || webrtc == IntPtr.Zero || Gst.BinAdd(pipeline, webrtc) == 0)
        {
            throw new MediaException("GStreamer could not make a webrtcbin.");
        }
        var peer = new WebRtcPeer(pipeline, onCandidate, options, snapshots);
        try
        {
            // The jitter buffer holds 200 ms by default; a viewer that only counts and shows frames wants them sooner.
            Gst.UtilSetObjectArg(peer._webrtc, "latency", "50");
            var caps = Gst.CapsFromString($"application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,payload={payloadType}");
            var (_, transceiver) = Signals.Emit(peer._webrtc, "add-transceiver", GstWebRtc.DirectionRecvOnly, caps);
            Gst.MiniObjectUnref(caps);
            if (transceiver == IntPtr.Zero)
            {
                throw new MediaException("webrtcbin would not add a receiving transceiver.");
            }
            GObject.ObjectUnref(transceiver);
            peer.Play();
            var offer = await peer.CreateAsync("create-offer", "offer", cancellationToken).ConfigureAwait(false);
            return (peer, offer);
        }
        catch
        {
            peer.Dispose();
            throw;
        }
    }

    /// <summary>Takes the sender's answer to this receiver's offer.</summary>
    public Task AcceptAnswerAsync(string answerSdp, CancellationToken cancellationToken = default) =>
        SetDescriptionAsync("set-remote-description", GstWebRtc.SdpTypeAnswer, answerSdp, cancellationToken);

    // ---- Both ----

    /// <summary>A candidate from the other peer (an empty one: the other peer has no more).</summary>
    public void AddRemoteCandidate(int mlineIndex, string candidate)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Signals.Emit(_webrtc, "add-ice-candidate", (uint)Math.Max(0, mlineIndex), string.IsNullOrEmpty(candidate) ? null : candidate);
    }

    /// <summary>The candidate types of the pair in use (host, srflx, prflx, relay) and the packets received and lost, from webrtcbin.</summary>
    public async Task<TransportStats> GetStatsAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var text = await WithPromiseAsync(promise =>
        {
            Signals.Emit(_webrtc, "get-stats", IntPtr.Zero, promise);
        }, reply => GLib.TakeString(Gst.StructureToString(reply)) ?? "", cancellationToken).ConfigureAwait(false);
        // Nested structures come escaped ("candidate-type\=\(string\)relay"): take the escapes out first. In 1.22 the
        // candidate entries' own type labels are swapped (the local one says "remote-candidate"), so the pair's ids decide.
        var plain = text.Replace("\\", "", StringComparison.Ordinal);
        var pair = Regex.Match(plain, @"local-candidate-id=\(string\)([^,;""]+), remote-candidate-id=\(string\)([^,;""]+)");
        string? TypeOf(int group) => pair.Success && Regex.Match(plain, Regex.Escape(pair.Groups[group].Value) + @"=\(structure\)""[^;]*?candidate-type=\(string\)(\w+)") is { Success: true } m ? m.Groups[1].Value : null;
        long? Field(string field) => Regex.Match(plain, @"inbound-rtp, [^;]*?" + field + @"=\([a-z0-9]+\)(-?\d+)") is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        return new TransportStats(TypeOf(1), TypeOf(2), Field("packets-received") ?? 0, Field("packets-lost") is >= 0 and var lost ? lost : null);
    }

    /// <summary>Copies the newest whole JPEG of the received video to <paramref name="path"/>; false when there is none yet (or snapshots were not asked for).</summary>
    public bool SaveSnapshot(string path)
    {
        var frames = _snapshots?.GetFiles("frame-*.jpg").OrderBy(f => f.Name, StringComparer.Ordinal).ToList() ?? [];
        // The newest may still be being written; the one before it is whole. With only one, stop the writer first.
        var whole = frames.Count >= 2 ? frames[^2] : frames.Count == 1 && _disposed ? frames[0] : null;
        if (whole is null)
        {
            return false;
        }
        whole.CopyTo(path, overwrite: true);
        return true;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        Gst.ElementSetState(_pipeline, Gst.State.Null);   // stops every streaming thread and webrtcbin's own
        _stop.Cancel();
        _bus.Wait(TimeSpan.FromSeconds(2));
        if (!ReleaseTurnAllocations(TimeSpan.FromSeconds(2)))
        {
            Trace.TraceWarning("The TURN server did not confirm releasing this peer's relay within 2 s; it lapses with its lifetime.");
        }
        Release();
    }

    private void Release()
    {
        Gst.ObjectUnref(_webrtc);
        Gst.ObjectUnref(_pipeline);
        if (_snapshots is { Exists: true })
        {
            _snapshots.Delete(recursive: true);
        }
        if (_self.IsAllocated)
        {
            _self.Free();
        }
    }
}
