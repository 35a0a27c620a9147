using System.Diagnostics.Metrics;

namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// What Azure Web PubSub would bill: every data message delivered to a client connection (server sends, group
/// sends, event replies; acks and pongs are free), and its size in billed units of 2 KB. Read with any
/// MeterListener or dotnet-counters (meter <c>RailCloud.WebPubSubEmulator</c>).
/// </summary>
public static class EmulatorMetrics
{
    public const string MeterName = "RailCloud.WebPubSubEmulator";
    public const int BilledUnitBytes = 2048;

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> Messages = Meter.CreateCounter<long>("webpubsub.outbound.messages", description: "Data messages delivered to client connections.");
    private static readonly Counter<long> Units = Meter.CreateCounter<long>("webpubsub.outbound.units", description: "Outbound messages in billed 2 KB units.");

    public static void Delivered(int payloadBytes)
    {
        Messages.Add(1);
        Units.Add(Math.Max(1, (payloadBytes + BilledUnitBytes - 1) / BilledUnitBytes));
    }
}
