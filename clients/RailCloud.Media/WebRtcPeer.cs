using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using RailCloud.Media.Native;

namespace RailCloud.Media;

/// <summary>A STUN or TURN server as the browser's RTCIceServer has it.</summary>
public sealed record IceServer(IReadOnlyList<string> Urls, string? Username = null, string? Credential = null);

/// <summary>How a peer reaches the other: ICE servers, relay only, and (for tests on one machine) which local addresses to offer.</summary>
public sealed record PeerOptions
{
    public IReadOnlyList<IceServer> IceServers { get; init; } = [];

    /// <summary>Only relayed candidates (through TURN), as the browser's iceTransportPolicy "relay".</summary>
    public bool RelayOnly { get; init; }

    /// <summary>The local addresses ICE may use (127.0.0.1 for a test on one machine); empty: every address of the machine.</summary>
    public IReadOnlyList<string> LocalAddresses { get; init; } = [];
}

/// <summary>What the sending peer films.</summary>
public abstract record VideoSource(int Width, int Height, int FramesPerSecond)
{
    /// <summary>GStreamer's moving test picture: no camera needed.</summary>
    public sealed record TestPattern(int Width = 640, int Height = 360, int FramesPerSecond = 15) : VideoSource(Width, Height, FramesPerSecond)
    {
        internal override string Pipeline => $"videotestsrc is-live=true pattern=ball ! {Caps}";
    }

    /// <summary>A V4L2 camera, scaled and paced to the size and rate asked for.</summary>
    public sealed record Camera(string Device, int Width = 640, int Height = 360, int FramesPerSecond = 15) : VideoSource(Width, Height, FramesPerSecond)
    {
        internal override string Pipeline => $"v4l2src device=\"{Device.Replace("\"", "", StringComparison.Ordinal)}\" ! videoconvert ! videoscale ! videorate ! {Caps}";
    }

    internal abstract string Pipeline { get; }

    internal string Caps => $"video/x-raw,width={Width},height={Height},framerate={FramesPerSecond}/1";
}

/// <summary>A local ICE candidate to send to the other peer; an empty <see cref="Candidate"/> means no more will come.</summary>
public readonly record struct IceCandidate(int MLineIndex, string Candidate);

/// <summary>What a receiving peer has seen so far; <see cref="FirstFrameAt"/> is a <see cref="Stopwatch"/> timestamp.</summary>
public sealed record ReceiverStats(long FramesDecoded, TimeSpan? FirstFrameAfter, long? FirstFrameAt, int Width, int Height);

/// <summary>From webrtcbin's statistics: the path the media takes and how much of it was lost.</summary>
public sealed record TransportStats(string? LocalCandidateType, string? RemoteCandidateType, long PacketsReceived, long? PacketsLost);

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

    // ---- Plumbing ----

    private void Play()
    {
        if (Gst.ElementSetState(_pipeline, Gst.State.Playing) == Gst.StateChangeFailure)
        {
            throw new MediaException("The pipeline would not play" + (Error is null ? " (a camera that is missing or busy, say)." : $": {Error}"));
        }
    }

    private void ConfigureIce(PeerOptions options)
    {
        foreach (var server in options.IceServers)
        {
            foreach (var url in server.Urls)
            {
                if (url.StartsWith("stun:", StringComparison.OrdinalIgnoreCase))
                {
                    Gst.UtilSetObjectArg(_webrtc, "stun-server", "stun://" + url["stun:".Length..].Split('?')[0]);
                }
                else if (TurnUri(url, server.Username, server.Credential) is { } turn)
                {
                    Signals.Emit(_webrtc, "add-turn-server", turn);
                }
            }
        }
        if (options.LocalAddresses.Count > 0)
        {
            var agent = GObject.GetProperty(_webrtc, "ice-agent", GObject.TypeObject, GObject.ValueDupObject);
            foreach (var address in options.LocalAddresses)
            {
                Signals.Emit(agent, "add-local-ip-address", address);
            }
            GObject.ObjectUnref(agent);
        }
    }

    /// <summary>
    /// webrtcbin's TURN URI: turn(s)://user:password@host:port[?transport=udp|tcp]. It splits the user part at the
    /// first ':' and unescapes each half, so the TURN REST username's ':' and the base64 password's '/', '+', '='
    /// are escaped. TLS is turns://, not ?transport=tls.
    /// </summary>
    internal static string? TurnUri(string url, string? username, string? credential)
    {
        var secure = url.StartsWith("turns:", StringComparison.OrdinalIgnoreCase);
        if (!secure && !url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase) || username is null || credential is null)
        {
            return null;
        }
        var rest = url[(secure ? "turns:" : "turn:").Length..];
        var (hostPort, query) = rest.IndexOf('?') is var q and >= 0 ? (rest[..q], rest[(q + 1)..]) : (rest, "");
        var transport = query.Split('&').Select(p => p.Split('=', 2)).Where(p => p.Length == 2 && p[0] == "transport").Select(p => p[1].ToLowerInvariant()).FirstOrDefault();
        if (transport is "tls")
        {
            (secure, transport) = (true, null);
        }
        var suffix = transport is "udp" or "tcp" && !secure ? "?transport=" + transport : "";
        return $"{(secure ? "turns" : "turn")}://{Uri.EscapeDataString(username)}:{Uri.EscapeDataString(credential)}@{hostPort}{suffix}";
    }

    /// <summary>The payload type the offer gives VP8, as webrtcbin must use it.</summary>
    public static int? Vp8PayloadType(string sdp) =>
        Vp8Pattern().Match(sdp) is { Success: true } match ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"a=rtpmap:(\d+) VP8/90000", RegexOptions.IgnoreCase)]
    private static partial Regex Vp8Pattern();

    private Task<string> CreateAsync(string signal, string field, CancellationToken cancellationToken) =>
        WithPromiseAsync(promise => Signals.Emit(_webrtc, signal, IntPtr.Zero, promise), reply =>
        {
            var value = Gst.StructureGetValue(reply, field);
            if (value == IntPtr.Zero)
            {
                throw new MediaException($"webrtcbin could not {signal.Replace('-', ' ')}: {GLib.TakeString(Gst.StructureToString(reply))}");
            }
            var description = GObject.ValueGetBoxed(value);
            var sdp = GLib.TakeString(GstSdp.MessageAsText(GstWebRtc.SdpOf(description))) ?? "";
            // Set it while the promise still owns it: the signal copies the boxed description.
            var set = Gst.PromiseNew();
            Signals.Emit(_webrtc, "set-local-description", description, set);
            Gst.PromiseWait(set);
            Gst.PromiseUnref(set);
            return sdp;
        }, cancellationToken);

    private async Task SetDescriptionAsync(string signal, int type, string sdp, CancellationToken cancellationToken)
    {
        if (GstSdp.MessageNewFromText(sdp, out var message) != 0 || message == IntPtr.Zero)
        {
            throw new MediaException("GStreamer could not parse the SDP.");
        }
        var description = GstWebRtc.SessionDescriptionNew(type, message);   // takes the message
        try
        {
            await WithPromiseAsync(promise => Signals.Emit(_webrtc, signal, description, promise), reply =>
            {
                if (reply != IntPtr.Zero && Gst.StructureGetValue(reply, "error") != IntPtr.Zero)
                {
                    throw new MediaException($"webrtcbin refused the {(type == GstWebRtc.SdpTypeOffer ? "offer" : "answer")}: {GLib.TakeString(Gst.StructureToString(reply))}");
                }
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            GstWebRtc.SessionDescriptionFree(description);
        }
    }

    /// <summary>Emits with a new promise, waits for its reply on a pool thread (webrtcbin answers on its own), and reads the reply before the promise goes.</summary>
    private async Task<T> WithPromiseAsync<T>(Action<IntPtr> emit, Func<IntPtr, T> read, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var promise = Gst.PromiseNew();
        try
        {
            emit(promise);
            var result = await Task.Run(() => Gst.PromiseWait(promise), cancellationToken).WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
            if (result != Gst.PromiseReplied)
            {
                throw new MediaException($"webrtcbin did not answer (promise result {result}){(Error is null ? "" : ": " + Error)}.");
            }
            return read(Gst.PromiseGetReply(promise));
        }
        finally
        {
            Gst.PromiseUnref(promise);
        }
    }

    private void WatchBus(IntPtr bus)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var message = Gst.BusTimedPopFiltered(bus, 100_000_000, Gst.MessageError);
                if (message == IntPtr.Zero)
                {
                    continue;
                }
                Gst.MessageParseError(message, out var error, out var debug);
                GLib.Free(debug);
                Gst.MiniObjectUnref(message);
                Error ??= GLib.TakeError(error);
                Raise(Failed, Error);
            }
        }
        finally
        {
            Gst.ObjectUnref(bus);
        }
    }

    private static void Raise<T>(Action<T>? handler, T value)
    {
        try
        {
            handler?.Invoke(value);
        }
        catch (Exception ex)
        {
            // A handler's failure must not end the thread that raised it (a native one cannot unwind .NET exceptions).
            Trace.TraceError($"A media event handler failed: {ex}");
        }
    }

    private static WebRtcPeer? From(IntPtr data) => GCHandle.FromIntPtr(data).Target as WebRtcPeer is { _disposed: false } peer ? peer : null;

    [UnmanagedCallersOnly]
    private static void OnIceCandidate(IntPtr webrtc, uint mlineIndex, IntPtr candidate, IntPtr data)
    {
        try
        {
            if (From(data) is { } peer && Marshal.PtrToStringUTF8(candidate) is { } line)
            {
                peer._onCandidate(new IceCandidate((int)mlineIndex, line.StartsWith("a=", StringComparison.Ordinal) ? line[2..] : line));
            }
        }
        catch (Exception ex)
        {
            Trace.TraceError($"Handling a local ICE candidate failed: {ex}");
        }
    }

    [UnmanagedCallersOnly]
    private static void OnStateNotify(IntPtr webrtc, IntPtr paramSpec, IntPtr data)
    {
        try
        {
            if (From(data) is not { } peer)
            {
                return;
            }
            var property = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(paramSpec, 8));
            var type = GObject.ValueTypeOf(paramSpec);
            // Read the new value off GStreamer's thread: webrtcbin may hold its lock while it notifies.
            ThreadPool.QueueUserWorkItem(_ => peer.ReadState(property, type));
        }
        catch (Exception ex)
        {
            Trace.TraceError($"Handling a state change failed: {ex}");
        }
    }

    private static readonly string[] ConnectionStates = ["new", "checking", "connected", "completed", "failed", "disconnected", "closed"];

    private void ReadState(string? property, nuint type)
    {
        if (_disposed || property is null)
        {
            return;
        }
        var state = GObject.GetProperty(_webrtc, property, type, GObject.ValueGetEnum);
        if (property == "ice-gathering-state" && state == 2 && Interlocked.Exchange(ref _endOfCandidatesSent, 1) == 0)
        {
            // 1.22 signals no end-of-candidates of its own: send the empty candidate once gathering is complete.
            Raise(_onCandidate, new IceCandidate(0, ""));
        }
        else if (property == "ice-connection-state" && state >= 0 && state < ConnectionStates.Length && ConnectionStates[state] != IceConnectionState)
        {
            IceConnectionState = ConnectionStates[state];
            Raise(IceConnectionStateChanged, IceConnectionState);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnPadAdded(IntPtr webrtc, IntPtr pad, IntPtr data)
    {
        try
        {
            From(data)?.Decode(pad);
        }
        catch (Exception ex)
        {
            Trace.TraceError($"Linking the incoming video failed: {ex}");
        }
    }

    /// <summary>Incoming video (a receiver): depayload, decode, count each frame; and now and then a JPEG.</summary>
    private void Decode(IntPtr pad)
    {
        // JPEGs go to a folder of their own, a few at a time (a leaky queue: the encoder takes what it can, and the video
        // never waits for it); SaveSnapshot copies the newest whole one.
        var snapshot = _snapshots is null ? ""
            : $" t. ! queue leaky=downstream max-size-buffers=1 ! jpegenc ! multifilesink location=\"{Path.Combine(_snapshots.FullName, "frame-%06d.jpg")}\" max-files=3";
        var bin = Gst.ParseBinFromDescription($"queue ! rtpvp8depay ! vp8dec ! videoconvert ! tee name=t t. ! queue ! fakesink name=frames signal-handoffs=true sync=false{snapshot}", 1, out var error);
        if (error != IntPtr.Zero || bin == IntPtr.Zero)
        {
            Error ??= "GStreamer refused the decoding branch: " + GLib.TakeError(error);
            return;
        }
        var frames = Gst.BinGetByName(bin, "frames");
        unsafe
        {
            GObject.SignalConnectData(frames, "handoff", (delegate* unmanaged<IntPtr, IntPtr, IntPtr, IntPtr, void>)&OnFrame, GCHandle.ToIntPtr(_self), IntPtr.Zero, 0);
        }
        Gst.ObjectUnref(frames);
        Gst.BinAdd(_pipeline, bin);
        Gst.ElementSyncStateWithParent(bin);
        var sink = Gst.ElementGetStaticPad(bin, "sink");
        var linked = Gst.PadLink(pad, sink);
        Gst.ObjectUnref(sink);
        if (linked != 0)
        {
            Error ??= $"The incoming video could not be linked (pad link result {linked}).";
        }
    }

    /// <summary>The decoded frames' size from the pad's caps, once they carry it.</summary>
    private void ReadSize(IntPtr pad)
    {
        var caps = Gst.PadGetCurrentCaps(pad);
        if (caps == IntPtr.Zero)
        {
            return;
        }
        try
        {
            var structure = Gst.CapsGetStructure(caps, 0);
            if (Gst.StructureGetInt(structure, "width", out var width) != 0 && Gst.StructureGetInt(structure, "height", out var height) != 0 && width > 0 && height > 0)
            {
                Volatile.Write(ref _height, height);
                Volatile.Write(ref _width, width);   // written last: a reader that sees the width sees the height too
            }
        }
        finally
        {
            Gst.MiniObjectUnref(caps);
        }
    }

    [UnmanagedCallersOnly]
    private static void OnFrame(IntPtr sink, IntPtr buffer, IntPtr pad, IntPtr data)
    {
        try
        {
            if (From(data) is not { } peer)
            {
                return;
            }
            if (Interlocked.Increment(ref peer._frames) == 1)
            {
                Interlocked.Exchange(ref peer._firstFrameAt, Stopwatch.GetTimestamp());
            }
            // The size comes from the decoded frames, on whichever one first carries it: the first buffer can reach the
            // sink before the pad's caps are set (a probe once reported video flowing at 0×0).
            if (Volatile.Read(ref peer._width) == 0)
            {
                peer.ReadSize(pad);
            }
        }
        catch (Exception ex)
        {
            Trace.TraceError($"Counting a frame failed: {ex}");
        }
    }
}
