using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using RailCloud.Media.Native;

namespace RailCloud.Media;

/// <summary>
/// Under the peer's API: webrtcbin's signals and promises through P/Invoke, the bus, ICE settings, and the callbacks
/// GStreamer makes on its own threads (each catches everything: an exception must never cross into native code).
/// </summary>
public sealed partial class WebRtcPeer
{
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
    /// Gives back the TURN allocations of this peer's ICE agent (a refresh with lifetime 0 each). webrtcbin 1.22 never
    /// does: libnice only forgets them when the agent is freed, and coturn keeps each for its lifetime (10 minutes),
    /// counted against the TURN user's quota (12 in infra/coturn), so a kiosk that keeps its TURN username would get no
    /// relay after a dozen quick sessions. Waits at most <paramref name="limit"/> for the server; false if it did not answer.
    /// </summary>
    private unsafe bool ReleaseTurnAllocations(TimeSpan limit)
    {
        var ice = GObject.GetProperty(_webrtc, "ice-agent", GObject.TypeObject, GObject.ValueDupObject);
        var agent = ice == IntPtr.Zero ? IntPtr.Zero : GObject.GetProperty(ice, "agent", GObject.TypeObject, GObject.ValueDupObject);
        if (ice != IntPtr.Zero)
        {
            GObject.ObjectUnref(ice);
        }
        if (agent == IntPtr.Zero)
        {
            return true;
        }
        // libnice reports back in the calling thread's default main context: give this thread one and turn it by hand.
        // Stopped, the nicesrc elements no longer read their sockets, so the server's answers are read there too.
        var context = GMain.ContextNew();
        var closed = (int*)NativeMemory.AllocZeroed(sizeof(int));
        GMain.PushThreadDefault(context);
        try
        {
            Gst.ForEachElement(_webrtc, "nicesrc", source => Nice.AgentAttachRecv(agent,
                GObject.GetProperty(source, "stream", GObject.TypeUInt, GObject.ValueGetUInt),
                GObject.GetProperty(source, "component", GObject.TypeUInt, GObject.ValueGetUInt), context, &DropReceived, IntPtr.Zero));
            Nice.AgentCloseAsync(agent, &OnIceClosed, (IntPtr)closed);
            var deadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
            while (Volatile.Read(ref *closed) == 0 && Stopwatch.GetTimestamp() < deadline)
            {
                if (GMain.Iteration(context, 0) == 0)
                {
                    Thread.Sleep(2);
                }
            }
        }
        finally
        {
            GMain.PopThreadDefault(context);
            GMain.ContextUnref(context);
            GObject.ObjectUnref(agent);
        }
        var done = Volatile.Read(ref *closed) != 0;
        if (done)
        {
            NativeMemory.Free(closed);   // else left: nothing turns that context any more, but the flag must outlive it
        }
        return done;
    }

    [UnmanagedCallersOnly]
    private static void DropReceived(IntPtr agent, uint stream, uint component, uint length, IntPtr data, IntPtr userData)
    {
    }

    [UnmanagedCallersOnly]
    private static unsafe void OnIceClosed(IntPtr agent, IntPtr result, IntPtr data) => Volatile.Write(ref *(int*)data, 1);

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
