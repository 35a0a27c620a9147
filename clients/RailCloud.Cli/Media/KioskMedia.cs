using System.Text.Json.Nodes;
using System.Threading.Channels;
using RailCloud.Client;
using RailCloud.Media;
using RailCloud.Protocol;
using IceServer = RailCloud.Media.IceServer;

namespace RailCloud.Cli.Media;

/// <summary>
/// The kiosk agent's live video: for each session, a GStreamer peer that answers the monitor's offer with the
/// camera (or the test pattern) and trickles its candidates through RailCloud. A peer outlives the Web PubSub
/// connection it was set up on (the video does not depend on it); it ends with its session.
/// </summary>
public sealed class KioskMedia(VideoSource source, IReadOnlyList<string> localAddresses, Action<string> say, bool relayOnly = false) : IDisposable
{
    private readonly Dictionary<string, Session> _sessions = [];
    private readonly Lock _gate = new();

    private sealed class Session(string sessionId, string monitorId, IReadOnlyList<IceServer> iceServers)
    {
        public string SessionId { get; } = sessionId;
        public string MonitorId { get; } = monitorId;
        public IReadOnlyList<IceServer> IceServers { get; } = iceServers;
        public WebRtcPeer? Peer { get; set; }

        /// <summary>The monitor's candidates that came while the peer was being built (the offer may come with the start, its candidates right after): added once it is.</summary>
        public List<(int MLineIndex, string Candidate)> Early { get; } = [];
        public Channel<IceCandidate> Outgoing { get; } = Channel.CreateUnbounded<IceCandidate>();
        public Dictionary<int, string> Mids { get; set; } = [];
        public CancellationTokenSource Stop { get; } = new();
        public Task Trickling { get; set; } = Task.CompletedTask;
    }

    public static string Describe(VideoSource source) => source switch
    {
        VideoSource.Camera camera => $"camera {camera.Device}, VP8 {camera.Width}×{camera.Height} at {camera.FramesPerSecond} fps",
        _ => $"test pattern, VP8 {source.Width}×{source.Height} at {source.FramesPerSecond} fps",
    };

    /// <summary>monitoring-started: a monitor is about to offer; its ICE servers (with TURN credentials for this kiosk) come with it.</summary>
    public void Started(JsonObject message)
    {
        var sessionId = (string)message["sessionId"]!;
        lock (_gate)
        {
            _sessions[sessionId] = new Session(sessionId, (string)message["monitorId"]!, IceServersOf(message["iceServers"]));
        }
    }

    /// <summary>The monitor's offer: build the peer, answer, then send the candidates gathered meanwhile and from then on.</summary>
    public async Task OfferAsync(Func<RailCloudConnection?> connection, JsonObject message, CancellationToken cancellationToken)
    {
        var sessionId = (string)message["sessionId"]!;
        var monitorId = (string)message["fromId"]!;
        var sdp = (string?)message["offer"]?["sdp"] ?? "";
        Session session;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(sessionId, out session!))
            {
                session = _sessions[sessionId] = new Session(sessionId, monitorId, []);
            }
            if (session.Peer is { } old)
            {
                // A new offer in the same session (the monitor restarted its side): start the video again.
                session.Peer = null;
                old.Dispose();
            }
        }
        session.Mids = MidsOf(sdp);
        try
        {
            var options = new PeerOptions { IceServers = session.IceServers, LocalAddresses = localAddresses, RelayOnly = relayOnly };
            var (peer, answer) = await WebRtcPeer.AnswerAsync(sdp, source, options, candidate => session.Outgoing.Writer.TryWrite(candidate), cancellationToken);
            peer.IceConnectionStateChanged += state => say($"Video to {monitorId}: ICE {state}.");
            peer.Failed += error => say($"Video to {monitorId} failed: {error}");
            List<(int MLineIndex, string Candidate)> early;
            lock (_gate)
            {
                session.Peer = peer;
                early = [.. session.Early];
                session.Early.Clear();
            }
            foreach (var (index, line) in early)
            {
                Add(peer, index, line, monitorId);
            }
            await (connection() ?? throw new RailCloudException(ErrorCodes.Unavailable, "not connected")).SendAnswerAsync(monitorId, answer, cancellationToken);
            say($"Answered {monitorId}'s offer with {Describe(source)}.");
            session.Trickling = TrickleAsync(connection, session);
        }
        catch (MediaException ex)
        {
            say($"Cannot send video to {monitorId}: {ex.Message}");
        }
    }

    /// <summary>Candidates go out in order, after the answer (a browser takes none before it has the answer).</summary>
    private async Task TrickleAsync(Func<RailCloudConnection?> connection, Session session)
    {
        try
        {
            await foreach (var candidate in session.Outgoing.Reader.ReadAllAsync(session.Stop.Token))
            {
                try
                {
                    if (connection() is { } kiosk)
                    {
                        await kiosk.SendIceCandidateAsync(session.MonitorId, candidate.Candidate, session.Mids.GetValueOrDefault(candidate.MLineIndex, "0"), candidate.MLineIndex, session.Stop.Token);
                    }
                }
                catch (RailCloudException ex)
                {
                    say($"A candidate for {session.MonitorId} was not delivered: {ex.Code}.");
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The session ended.
        }
    }

    /// <summary>A candidate from the monitor: added to the session's peer, or kept until the peer is built.</summary>
    public void Candidate(JsonObject message)
    {
        if (message["candidate"] is not JsonObject candidate)
        {
            return;
        }
        var (index, line) = ((int?)candidate["sdpMLineIndex"] ?? 0, (string?)candidate["candidate"] ?? "");
        WebRtcPeer? peer;
        lock (_gate)
        {
            if (_sessions.GetValueOrDefault((string?)message["sessionId"] ?? "") is not { } session)
            {
                return;
            }
            peer = session.Peer;
            if (peer is null)
            {
                session.Early.Add((index, line));
                return;
            }
        }
        Add(peer, index, line, (string?)message["fromId"]);
    }

    private void Add(WebRtcPeer peer, int index, string line, string? from)
    {
        try
        {
            peer.AddRemoteCandidate(index, line);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or MediaException)
        {
            // The session ended meanwhile, or GStreamer would not take it: the agent goes on either way.
            say($"A candidate from {from} was not used: {ex.Message}");
        }
    }

    /// <summary>The session ended (or did not survive a reconnection): its video stops.</summary>
    public void Ended(string? sessionId)
    {
        Session? session;
        lock (_gate)
        {
            if (sessionId is null || !_sessions.Remove(sessionId, out session))
            {
                return;
            }
        }
        session.Stop.Cancel();
        session.Trickling.Wait(TimeSpan.FromSeconds(5));
        session.Peer?.Dispose();
        NativeHeap.Trim();   // what the session's streaming threads freed goes back to the system, not kept for the next
        say("Video stopped.");
    }

    public void Dispose()
    {
        List<string> ids;
        lock (_gate)
        {
            ids = [.. _sessions.Keys];
        }
        foreach (var id in ids)
        {
            Ended(id);
        }
    }

    /// <summary>The iceServers of a monitoring-started message, as the peers take them.</summary>
    public static IReadOnlyList<IceServer> IceServersOf(JsonNode? servers) =>
        servers is JsonArray list
            ? [.. list.OfType<JsonObject>().Select(s => new IceServer(
                s["urls"] switch { JsonArray urls => [.. urls.Select(u => (string?)u).OfType<string>()], JsonValue url => [(string)url!], _ => [] },
                (string?)s["username"], (string?)s["credential"]))]
            : [];

    /// <summary>The a=mid of each m-line, by index, so candidates carry the sdpMid as well as the index (a browser looks a candidate's transport up by its mid first).</summary>
    internal static Dictionary<int, string> MidsOf(string sdp)
    {
        var mids = new Dictionary<int, string>();
        var index = -1;
        foreach (var line in sdp.Split('\n'))
        {
            if (line.StartsWith("m=", StringComparison.Ordinal))
            {
                index++;
            }
            else if (index >= 0 && line.StartsWith("a=mid:", StringComparison.Ordinal))
            {
                mids[index] = line["a=mid:".Length..].Trim();
            }
        }
        return mids;
    }

    /// <summary>
    /// The video source the options ask for: --camera DEVICE, --test-pattern, or by default the first camera when
    /// /dev/video0 exists and the test pattern otherwise; --width, --height, --fps.
    /// </summary>
    public static VideoSource SourceFrom(Args args)
    {
        var (width, height, fps) = (args.Int("width", 640), args.Int("height", 360), args.Int("fps", 15));
        return args.Get("camera") is { } device ? new VideoSource.Camera(device, width, height, fps)
            : args.Get("test-pattern") is not null || !File.Exists("/dev/video0") ? new VideoSource.TestPattern(width, height, fps)
            : new VideoSource.Camera("/dev/video0", width, height, fps);
    }

    /// <summary>--local-address A[,B]: the addresses ICE may use (127.0.0.1 on a machine whose browsers and agent meet on loopback).</summary>
    public static IReadOnlyList<string> LocalAddressesFrom(Args args) =>
        (args.Get("local-address") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
