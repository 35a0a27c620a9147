using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using RailCloud.Client;
using RailCloud.Media;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud probe KIOSK_07</c>: a monitor peer in C# that watches a kiosk, receives its video, counts decoded
/// frames, and says whether video really flows (time to first frame, frames/s, size, path, packet loss), then stops.
/// <c>--all</c> probes every online kiosk nobody is watching, one after the other: the fleet check.
/// </summary>
public static class ProbeCommand
{
    /// <summary>Exit codes, one per plain reason.</summary>
    public static class Exit
    {
        public const int VideoFlows = ExitCodes.Success;
        public const int Refused = ExitCodes.Refused;
        public const int Offline = ExitCodes.Offline;
        public const int Busy = ExitCodes.Busy;
        public const int NoMedia = ExitCodes.NoMedia;
    }

    public sealed record Result(string KioskId, int Code, string Outcome, TimeSpan? FirstFrame = null, double FramesPerSecond = 0, long Frames = 0, int Width = 0, int Height = 0,
        string? Path = null, long PacketsReceived = 0, long? PacketsLost = null);

    public static async Task<int> RunAsync(Args args, CancellationToken cancellationToken)
    {
        var all = args.Get("all") is not null;
        var kiosk = args.At(1);
        if (!all && kiosk is null)
        {
            throw new UsageException("probe needs a kiosk id (or --all).");
        }
        try
        {
            GStreamer.EnsureAvailable();
        }
        catch (MediaException ex)
        {
            Console.Error.WriteLine("railcloud: " + ex.Message);
            return Exit.Refused;
        }
        var settings = new Settings(
            Duration: args.Duration("duration", TimeSpan.FromSeconds(10)),
            Timeout: args.Duration("timeout", TimeSpan.FromSeconds(20)),
            Snapshot: args.Get("snapshot"),
            RelayOnly: args.Get("relay-only") is not null,
            LocalAddresses: Media.KioskMedia.LocalAddressesFrom(args));
        // GStreamer's first-peer work (plugins, the DTLS key) happens while signing in, not after start-monitoring.
        var warmUp = GStreamer.WarmUpAsync();
        var api = Simulators.Api(args);
        await using var connection = await RailCloudConnection.ConnectAsync(api, args.Require("id", "RAILCLOUD_ID"), args.Require("password", "RAILCLOUD_PASSWORD"), cancellationToken);
        var registered = await connection.RegisterAsync(cancellationToken: cancellationToken);
        await warmUp.WaitAsync(cancellationToken);
        if (!all)
        {
            var result = await ProbeAsync(connection, kiosk!, settings, cancellationToken);
            Console.WriteLine(Describe(result));
            if (result.Code == Exit.VideoFlows && settings.Snapshot is { } path)
            {
                Console.WriteLine(File.Exists(path) ? $"Snapshot: {path} ({new FileInfo(path).Length / 1024.0:F0} KB)." : "No snapshot could be taken.");
            }
            return result.Code;
        }

        var idle = registered["kiosks"]?.AsArray().OfType<JsonObject>()
            .Where(k => (bool?)k["online"] == true && (string?)k["monitoredBy"] is null).Select(k => (string)k["kioskId"]!).Order(StringComparer.Ordinal).ToList() ?? [];
        if (idle.Count == 0)
        {
            Console.WriteLine("No online kiosk is free to probe (offline, or watched by someone).");
            return Exit.VideoFlows;
        }
        Console.WriteLine($"Probing {idle.Count} online kiosk(s) nobody is watching, one after the other, {settings.Duration.TotalSeconds:0} s each.");
        var results = new List<Result>();
        foreach (var id in idle)
        {
            results.Add(await ProbeAsync(connection, id, settings with { Snapshot = null }, cancellationToken));
            Console.WriteLine(Describe(results[^1]));
        }
        Console.WriteLine();
        Console.WriteLine("| kiosk | result | first frame | frames/s | size | path | packets lost |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
        {
            Console.WriteLine($"| {r.KioskId} | {r.Outcome} | {(r.FirstFrame is { } f ? $"{f.TotalSeconds:F2} s" : "–")} | {(r.Code == 0 ? r.FramesPerSecond.ToString("F1", CultureInfo.InvariantCulture) : "–")} | {(r.Code == 0 ? Size(r) : "–")} | {r.Path ?? "–"} | {(r.Code == 0 ? Lost(r) : "–")} |");
        }
        var failed = results.Count(r => r.Code != Exit.VideoFlows);
        Console.WriteLine(failed == 0 ? $"All {results.Count} kiosk(s) sent video." : $"{failed} of {results.Count} kiosk(s) did not send video.");
        return failed == 0 ? Exit.VideoFlows : Exit.NoMedia;
    }

    public sealed record Settings(TimeSpan Duration, TimeSpan Timeout, string? Snapshot, bool RelayOnly, IReadOnlyList<string> LocalAddresses);

    public static string Describe(Result r) => r.Code switch
    {
        Exit.VideoFlows => $"{r.KioskId}: video flows. First frame {r.FirstFrame!.Value.TotalSeconds:F2} s after the start; {r.FramesPerSecond:F1} frames/s ({r.Frames} frames); {Size(r)} VP8; path {r.Path}; packets lost {Lost(r)}.",
        _ => $"{r.KioskId}: {r.Outcome}",
    };

    /// <summary>The frames' size; a probe that decoded frames whose size GStreamer never reported says so rather than "0×0".</summary>
    private static string Size(Result r) => r.Width > 0 && r.Height > 0 ? $"{r.Width}×{r.Height}" : "size not reported";

    private static string Lost(Result r) => r.PacketsLost is { } lost ? $"{lost} of {r.PacketsReceived + lost}" : $"not reported ({r.PacketsReceived} received)";

    /// <summary>One kiosk: start, offer, answer, candidates both ways, frames counted for the duration, stop.</summary>
    public static async Task<Result> ProbeAsync(RailCloudConnection connection, string kioskId, Settings settings, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        JsonObject reply;
        try
        {
            reply = await connection.StartMonitoringAsync(kioskId, cancellationToken);
        }
        catch (RailCloudException ex)
        {
            return ex.Code switch
            {
                ErrorCodes.KioskOffline => new Result(kioskId, Exit.Offline, $"offline: {ex.ServerMessage}"),
                ErrorCodes.UnknownKiosk => new Result(kioskId, Exit.Offline, $"no such kiosk: {ex.ServerMessage}"),
                ErrorCodes.KioskBusy => new Result(kioskId, Exit.Busy, $"busy: {ex.ServerMessage}"),
                _ => new Result(kioskId, Exit.Refused, $"refused: {ex.Code}: {ex.ServerMessage}"),
            };
        }
        var sessionId = (string)reply["sessionId"]!;
        var outgoing = Channel.CreateUnbounded<IceCandidate>();
        WebRtcPeer? peer = null;
        // The kiosk's candidates may overtake its answer (or come while it is being applied): kept until it is.
        var early = new List<(int MLineIndex, string Candidate)>();
        var accepted = false;
        var gate = new Lock();
        void FromKiosk(JsonObject message)
        {
            if ((string?)message["event"] == Events.IceCandidate && (string?)message["sessionId"] == sessionId && message["candidate"] is JsonObject candidate)
            {
                var item = ((int?)candidate["sdpMLineIndex"] ?? 0, (string?)candidate["candidate"] ?? "");
                lock (gate)
                {
                    if (!accepted)
                    {
                        early.Add(item);
                        return;
                    }
                }
                peer?.AddRemoteCandidate(item.Item1, item.Item2);
            }
        }
        connection.Received += FromKiosk;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task trickle = Task.CompletedTask;
        try
        {
            var options = new PeerOptions { IceServers = Media.KioskMedia.IceServersOf(reply["iceServers"]), RelayOnly = settings.RelayOnly, LocalAddresses = settings.LocalAddresses };
            (peer, var offer) = await WebRtcPeer.OfferToReceiveAsync(options, c => outgoing.Writer.TryWrite(c), snapshots: settings.Snapshot is not null, cancellationToken: cancellationToken);
            var answered = connection.WaitForAsync(m => (string?)m["event"] == Events.Answer && (string?)m["sessionId"] == sessionId, settings.Timeout, cancellationToken);
            await connection.SendOfferAsync(kioskId, offer, cancellationToken);
            // webrtcbin names its m-lines "video0"…: a candidate sent with another mid is refused by the browser.
            var mids = Media.KioskMedia.MidsOf(offer);
            trickle = Task.Run(async () =>
            {
                await foreach (var candidate in outgoing.Reader.ReadAllAsync(stop.Token))
                {
                    await connection.SendIceCandidateAsync(kioskId, candidate.Candidate, mids.GetValueOrDefault(candidate.MLineIndex, "0"), candidate.MLineIndex, stop.Token);
                }
            }, CancellationToken.None);
            JsonObject answer;
            try
            {
                answer = await answered;
            }
            catch (TimeoutException)
            {
                return new Result(kioskId, Exit.NoMedia, $"no media: {kioskId} did not answer within {settings.Timeout.TotalSeconds:0} s.");
            }
            await peer.AcceptAnswerAsync((string?)answer["answer"]?["sdp"] ?? "", cancellationToken);
            List<(int MLineIndex, string Candidate)> waiting;
            lock (gate)
            {
                accepted = true;
                waiting = [.. early];
            }
            foreach (var (index, line) in waiting)
            {
                peer.AddRemoteCandidate(index, line);
            }
            var deadline = started + (long)(settings.Timeout.TotalSeconds * Stopwatch.Frequency);
            while (peer.Received.FramesDecoded == 0 && Stopwatch.GetTimestamp() < deadline && peer.Error is null)
            {
                await Task.Delay(20, cancellationToken);
            }
            var first = peer.Received;
            if (first.FirstFrameAt is not { } firstAt)
            {
                return new Result(kioskId, Exit.NoMedia,
                    $"no media: no video frame within {settings.Timeout.TotalSeconds:0} s (ICE {peer.IceConnectionState}{(peer.Error is null ? "" : ", " + peer.Error)}).");
            }
            var from = first.FramesDecoded;
            var window = Stopwatch.StartNew();
            await Task.Delay(settings.Duration, cancellationToken);
            var last = peer.Received;   // the size as the decoded frames carried it, whenever they first did
            var frames = last.FramesDecoded - from;
            var fps = frames / window.Elapsed.TotalSeconds;
            var stats = await peer.GetStatsAsync(cancellationToken);
            if (settings.Snapshot is { } path)
            {
                for (var i = 0; i < 50 && !peer.SaveSnapshot(path); i++)
                {
                    await Task.Delay(100, cancellationToken);
                }
            }
            var firstFrame = Stopwatch.GetElapsedTime(started, firstAt);
            // The path as the browser's overlay names it: relay when either side relays, else the probe's own candidate type.
            var pathText = stats.LocalCandidateType is null ? "unknown" : stats.LocalCandidateType == "relay" || stats.RemoteCandidateType == "relay" ? "relay" : stats.LocalCandidateType;
            return frames > 0
                ? new Result(kioskId, Exit.VideoFlows, "video flows", firstFrame, fps, frames, last.Width, last.Height, pathText, stats.PacketsReceived, stats.PacketsLost)
                : new Result(kioskId, Exit.NoMedia, $"no media: the first frame came, then none for {settings.Duration.TotalSeconds:0} s (ICE {peer.IceConnectionState}).", firstFrame);
        }
        catch (MediaException ex)
        {
            return new Result(kioskId, Exit.NoMedia, $"no media: {ex.Message}");
        }
        finally
        {
            connection.Received -= FromKiosk;
            await stop.CancelAsync();
            await trickle.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            try
            {
                await connection.StopMonitoringAsync(kioskId, CancellationToken.None);
            }
            catch (RailCloudException)
            {
                // Ended already (the kiosk went away): nothing to stop.
            }
            peer?.Dispose();
        }
    }
}
