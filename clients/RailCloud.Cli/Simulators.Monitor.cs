using System.Text.Json.Nodes;
using RailCloud.Client;
using RailCloud.Protocol;

namespace RailCloud.Cli;

/// <summary><c>railcloud monitor</c>: a simulated monitor (placeholder SDP, no media) that lists kiosks, watches one, exchanges offer, answer and ICE.</summary>
public static partial class Simulators
{
    public static async Task<int> MonitorAsync(Args args, CancellationToken cancellationToken)
    {
        var api = Api(args);
        var id = args.Require("id");
        var password = args.Require("password", "RAILCLOUD_PASSWORD");
        var watching = new Dictionary<string, string>();   // kiosk id → session id, kept across connections
        var first = args.Get("watch");

        async Task WatchAsync(RailCloudConnection monitor, string kioskId)
        {
            try
            {
                var started = await monitor.StartMonitoringAsync(kioskId, cancellationToken);
                watching[kioskId] = (string)started["sessionId"]!;
                Say($"Watching {kioskId} (session {started["sessionId"]}); sending the offer.");
                await monitor.SendOfferAsync(kioskId, FakeSdp(id), cancellationToken);
            }
            catch (RailCloudException ex)
            {
                Say($"Cannot watch {kioskId}: {ex.Code} — {ex.ServerMessage}");
            }
        }

        return await StayConnectedAsync(
            "monitor",
            ct => api.LoginAsync(id, password, ct),
            api,
            () => [.. watching.Values],
            (monitor, registered) =>
            {
                Say($"{id} is connected as {registered["role"]}. Type \"watch <kioskId>\", \"stop <kioskId>\" or \"list\".");
                PrintKiosks(registered["kiosks"]!.AsArray());
                var ended = Ended(registered);
                foreach (var (kioskId, _) in watching.Where(w => ended.Contains(w.Value)).ToList())
                {
                    watching.Remove(kioskId);
                }
                if (first is { } kiosk)
                {
                    first = null;
                    _ = WatchAsync(monitor, kiosk);
                }
            },
            async (monitor, words) =>
            {
                switch (words)
                {
                    case ["watch", var kioskId]:
                        await WatchAsync(monitor, kioskId);
                        break;
                    case ["stop", var kioskId]:
                        try
                        {
                            await monitor.StopMonitoringAsync(kioskId, cancellationToken);
                            watching.Remove(kioskId);
                            Say($"Stopped watching {kioskId}.");
                        }
                        catch (RailCloudException ex)
                        {
                            Say($"Cannot stop: {ex.Code} — {ex.ServerMessage}");
                        }
                        break;
                    case ["list"]:
                        PrintKiosks(JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(await api.ListKiosksAsync(monitor.AccessToken, cancellationToken), ProtocolJson.Options))!.AsArray());
                        break;
                    default:
                        Say("Commands: watch <kioskId> | stop <kioskId> | list");
                        break;
                }
            },
            async (monitor, message) =>
            {
                switch ((string?)message["event"])
                {
                    case Events.Answer:
                        var kioskId = (string)message["fromId"]!;
                        Say($"Answer from {kioskId}; trickling candidates.");
                        await TrickleAsync(monitor, kioskId, 40000, cancellationToken);
                        break;
                    case Events.IceCandidate:
                        Say($"ICE candidate from {message["fromId"]}: {message["candidate"]?["candidate"]}");
                        break;
                    case Events.KioskOnline:
                        Say($"{message["kioskId"]} came online.");
                        break;
                    case Events.KioskOffline:
                        Say($"{message["kioskId"]} went offline ({message["reason"]}).");
                        break;
                    case Events.CrewSignOn or Events.CrewSignOff:
                        Say($"{message["kioskId"]}: crew {message["crewId"]} {(message["event"]!.ToString() == Events.CrewSignOn ? "signed on" : "signed off")}{(message["name"] is { } n ? $" ({n})" : "")}.");
                        break;
                    case Events.MonitoringEnded:
                        watching.Remove((string)message["kioskId"]!);
                        Say($"Session with {message["kioskId"]} ended: {message["reason"]}.");
                        break;
                    default:
                        Say(message.ToJsonString());
                        break;
                }
            },
            cancellationToken);
    }

    private static void PrintKiosks(JsonArray kiosks)
    {
        Say($"{"KIOSK",-14} {"STATE",-8} {"WATCHED BY",-16} CREW");
        foreach (var k in kiosks)
        {
            var crew = string.Join(", ", k!["crew"]!.AsArray().Select(c => (string?)c!["crewId"]));
            Say($"{(string?)k["kioskId"],-14} {((bool)k["online"]! ? "online" : "offline"),-8} {(string?)k["monitoredBy"] ?? "-",-16} {crew}");
        }
    }
}
