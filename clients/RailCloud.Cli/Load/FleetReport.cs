using System.Diagnostics;
using HdrHistogram;

namespace RailCloud.Cli.Load;

/// <summary>The fleet run and the baselines as Markdown tables, ready for the README.</summary>
public static class FleetReport
{
    public static double Ms(LongHistogram histogram, double percentile) =>
        histogram.TotalCount == 0 ? double.NaN : histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency;

    public static void Print(FleetSimulator.Settings settings, FleetLedger ledger, TimeSpan ran, Dictionary<string, long>? before, Dictionary<string, long>? after,
        IReadOnlyList<(string Process, long RssKiB, long PeakKiB)> memory)
    {
        var relayed = ledger.Relayed();
        var broadcasts = ledger.Broadcasts();
        var sessions = Math.Max(1, ledger.SessionsStarted);
        Console.WriteLine($"""

            | {settings.Kiosks} kiosks, {settings.Monitors} monitors, {ran.TotalMinutes:0.#} min, drop rate {settings.DropRate}/min, restart rate {settings.RestartRate}/min | result |
            |---|---|
            | sessions started | {ledger.SessionsStarted:N0} ({ledger.SessionsStarted / ran.TotalSeconds:F2} sessions/s); {ledger.StartsAttempted:N0} starts tried |
            | time to monitoring-started p50 / p99 / max | {Ms(ledger.StartLatency, 50):F1} ms / {Ms(ledger.StartLatency, 99):F1} ms / {Ms(ledger.StartLatency, 100):F1} ms |
            | relayed (offer, answer, candidates) | {relayed.Sent:N0} sent, {relayed.Arrived:N0} arrived |
            | relay latency p50 / p99 / max | {Ms(ledger.RelayLatency, 50):F2} ms / {Ms(ledger.RelayLatency, 99):F2} ms / {Ms(ledger.RelayLatency, 100):F2} ms |
            | **lost / duplicated** relayed messages | **{relayed.Lost:N0} / {relayed.Duplicated:N0}** ({relayed.Cut:N0} cut off by a kiosk restart, not counted) |
            | crew broadcasts (each to every monitor) | {broadcasts.Sent:N0} expected, {broadcasts.Arrived:N0} arrived; **lost / duplicated {broadcasts.Lost:N0} / {broadcasts.Duplicated:N0}** |
            | **double sessions** seen by any monitor | **{ledger.DoubleSessions}** |
            | sockets dropped / kiosks restarted | {ledger.Drops:N0} / {ledger.Restarts:N0} |
            | refusals | {(ledger.Refusals == 0 ? "none" : string.Join(", ", ledger.RefusalCodes.OrderByDescending(r => r.Value).Select(r => $"{r.Key} {r.Value:N0}")))} |
            """);
        if (before is not null && after is not null)
        {
            var storage = BackendProbe.Delta(before, after, "railcloud.storage.requests");
            var invocations = BackendProbe.Delta(before, after, "railcloud.handler.invocations");
            Console.WriteLine($"| storage transactions per session (backend's meter) | {storage / (double)sessions:F1} ({storage:N0} in all) |");
            Console.WriteLine($"| Function invocations per session (backend's meter) | {invocations / (double)sessions:F1} ({invocations:N0} in all) |");
        }
        else
        {
            Console.WriteLine("| storage transactions, invocations | not available (the API has no /local/metrics: a deployment reports them to Application Insights) |");
        }
        foreach (var (process, rss, peak) in memory.OrderBy(m => m.Process, StringComparer.Ordinal))
        {
            Console.WriteLine($"| memory: {process} | {rss / 1024.0:F0} MiB resident, {peak / 1024.0:F0} MiB at most |");
        }
    }

    public static void PrintBaselines(IReadOnlyList<Baselines.Result> results, int pairs, int rate, TimeSpan phase)
    {
        var shortest = results[0].Latency;
        Console.WriteLine($"""

            | path ({pairs} pairs, {rate} messages/s each way, {phase.TotalSeconds:0} s each) | messages | p50 / p99 / max | p50, p99 × the plain relay |
            |---|---|---|---|
            """);
        foreach (var result in results)
        {
            Console.WriteLine($"| {result.Path} | {result.Messages:N0} | {Ms(result.Latency, 50):F2} / {Ms(result.Latency, 99):F2} / {Ms(result.Latency, 100):F2} ms | {Ms(result.Latency, 50) / Ms(shortest, 50):F1}×, {Ms(result.Latency, 99) / Ms(shortest, 99):F1}× |");
        }
    }
}
