using System.Text.Json.Nodes;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary><c>railcloud kiosk</c>: the kiosk agent (live video with GStreamer) or, with --placeholder, the signaling-only simulator.</summary>
public static partial class Simulators
{
    /// <summary>
    /// Signs the kiosk in: with <c>--enrol CODE</c> it enrols as a device first and keeps the key in its device file;
    /// with a device file for <c>--id</c> (and no password) it signs in with that key; else with the password.
    /// </summary>
    private static async Task<LoginResponse> KioskSignInAsync(RailCloudApi api, Args args, CancellationToken cancellationToken)
    {
        if (args.Get("enrol") is { } code)
        {
            using var key = DeviceKey.Create();
            var device = await api.RegisterDeviceAsync(code, key.PublicJwk, args.Get("name") ?? Environment.MachineName, cancellationToken);
            var path = DevicesCommand.DeviceFile.PathFor(args, device.KioskId);
            new DevicesCommand.DeviceFile(device.DeviceId, device.KioskId, key.ExportPrivateKeyPem()).Save(path);
            Say($"Enrolled as device {device.DeviceId} of {device.KioskId}; key kept in {path} (readable by you only).");
            return await api.SignInDeviceAsync(key, device.DeviceId, cancellationToken);
        }
        var id = args.Require("id");
        if (args.Get("password", "RAILCLOUD_PASSWORD") is null && DevicesCommand.DeviceFile.Load(DevicesCommand.DeviceFile.PathFor(args, id)) is { } file)
        {
            using var key = DeviceKey.FromPem(file.PrivateKey);
            Say($"Signing in as device {file.DeviceId} of {file.KioskId} with its key.");
            return await api.SignInDeviceAsync(key, file.DeviceId, cancellationToken);
        }
        return await api.LoginAsync(id, args.Require("password", "RAILCLOUD_PASSWORD"), cancellationToken);
    }

    /// <summary>
    /// <c>railcloud kiosk</c>: the kiosk agent. It streams real video (a camera, or the test pattern) with GStreamer,
    /// unless <c>--placeholder</c> makes it the signaling-only simulator with placeholder SDP.
    /// </summary>
    public static async Task<int> KioskAsync(Args args, CancellationToken cancellationToken)
    {
        var api = Api(args);
        string? held = null;   // the session this kiosk answers for: kept across connections, resumed on the next one
        RailCloudConnection? current = null;
        using var media = args.Get("placeholder") is null ? StartMedia(args) : null;
        if (args.Get("placeholder") is null && media is null)
        {
            return 1;
        }
        return await StayConnectedAsync(
            "kiosk",
            ct => KioskSignInAsync(api, args, ct),
            api,
            () => held is null ? [] : [held],
            (kiosk, registered) =>
            {
                current = kiosk;
                var every = (int?)registered["heartbeatSeconds"] ?? 30;
                Say($"{kiosk.Id} is online (connection {kiosk.ConnectionId}); heartbeat every {every} s. Type \"on <crewId> [name]\" or \"off <crewId>\".");
                if (Ended(registered).Contains(held))
                {
                    media?.Ended(held);
                    held = null;
                }
            },
            async (kiosk, words) =>
            {
                switch (words)
                {
                    case ["on", var crew, .. var name]:
                        await kiosk.CrewSignOnAsync(crew, name.Length > 0 ? string.Join(' ', name) : null, cancellationToken);
                        Say($"Crew {crew} signed on.");
                        break;
                    case ["off", var crew]:
                        await kiosk.CrewSignOffAsync(crew, cancellationToken);
                        Say($"Crew {crew} signed off.");
                        break;
                    default:
                        Say("Commands: on <crewId> [name] | off <crewId>");
                        break;
                }
            },
            async (kiosk, message) =>
            {
                switch ((string?)message["event"])
                {
                    case Events.MonitoringStarted:
                        held = (string?)message["sessionId"];
                        media?.Started(message);
                        Say($"Being viewed by {message["monitorId"]} (session {message["sessionId"]}).");
                        break;
                    case Events.Offer when media is not null:
                        held = (string?)message["sessionId"];
                        Say($"Offer from {message["fromId"]}; answering with video.");
                        await media.OfferAsync(() => current, message, cancellationToken);
                        break;
                    case Events.Offer:
                        var monitorId = (string)message["fromId"]!;
                        held = (string?)message["sessionId"];
                        Say($"Offer from {monitorId}; answering.");
                        await kiosk.SendAnswerAsync(monitorId, FakeSdp(kiosk.Id), cancellationToken);
                        await TrickleAsync(kiosk, monitorId, 50000, cancellationToken);
                        break;
                    case Events.IceCandidate when media is not null:
                        media.Candidate(message);
                        break;
                    case Events.IceCandidate:
                        Say($"ICE candidate from {message["fromId"]}: {message["candidate"]?["candidate"]}");
                        break;
                    case Events.MonitoringEnded:
                        media?.Ended((string?)message["sessionId"]);
                        if ((string?)message["sessionId"] == held)
                        {
                            held = null;
                        }
                        Say($"No longer viewed: {message["reason"]}.");
                        break;
                    default:
                        Say(message.ToJsonString());
                        break;
                }
            },
            cancellationToken);
    }

    /// <summary>The agent's video, or null (said why) when GStreamer cannot give it.</summary>
    private static Media.KioskMedia? StartMedia(Args args)
    {
        try
        {
            var source = Media.KioskMedia.SourceFrom(args);
            RailCloud.Media.GStreamer.EnsureAvailable();
            // The agent serves session after session for weeks: few malloc arenas, trimmed after each session.
            RailCloud.Media.NativeHeap.LimitArenas(2);
            Say($"Video: {Media.KioskMedia.Describe(source)} (GStreamer {RailCloud.Media.GStreamer.Version}).");
            // The first session's slow first-time work (plugins, the DTLS key) is done now, while the agent signs in.
            _ = RailCloud.Media.GStreamer.WarmUpAsync().ContinueWith(
                t => Say(t.IsCompletedSuccessfully
                    ? $"Video ready in {t.Result.Took.TotalMilliseconds:F0} ms (plugins loaded, DTLS certificate made)."
                    : $"Video warm-up failed: {t.Exception?.InnerException?.Message}"),
                TaskScheduler.Default);
            return new Media.KioskMedia(source, Media.KioskMedia.LocalAddressesFrom(args), Say, relayOnly: args.Get("relay-only") is not null);
        }
        catch (RailCloud.Media.MediaException ex)
        {
            Console.Error.WriteLine($"railcloud: {ex.Message} (or run the signaling-only simulator with --placeholder)");
            return null;
        }
    }
}
