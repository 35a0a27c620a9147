using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace RailCloud.Cli.Load;

/// <summary>What the backend says it did (its own counters, from the local host's /local/metrics) and what each process holds in memory.</summary>
public static class BackendProbe
{
    /// <summary>The local host's counter totals, or null when it has none to give (a deployed Function app: see Application Insights).</summary>
    public static async Task<Dictionary<string, long>?> CountersAsync(HttpClient http, CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = await http.GetFromJsonAsync<JsonObject>("local/metrics", cancellationToken);
            return snapshot?["counters"]?.AsObject().ToDictionary(c => c.Key, c => (long?)c.Value ?? 0);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The sum of the counters whose name starts with <paramref name="instrument"/>, between two snapshots.</summary>
    public static long Delta(Dictionary<string, long> before, Dictionary<string, long> after, string instrument) =>
        after.Where(c => c.Key.StartsWith(instrument, StringComparison.Ordinal)).Sum(c => c.Value - before.GetValueOrDefault(c.Key));

    /// <summary>
    /// Resident memory (now and at its peak) of RailCloud's local processes and this one, read from /proc (Linux,
    /// as run.sh runs them); empty elsewhere.
    /// </summary>
    public static IReadOnlyList<(string Process, long RssKiB, long PeakKiB)> Memory()
    {
        var found = new List<(string, long, long)>();
        if (!Directory.Exists("/proc"))
        {
            return found;
        }
        var self = Environment.ProcessId;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var name = pid == self ? "railcloud load (this process)"
                    : commandLine.Contains("RailCloud.LocalHost.dll", StringComparison.Ordinal) ? "API (RailCloud.LocalHost)"
                    : commandLine.Contains("RailCloud.WebPubSubEmulator.dll", StringComparison.Ordinal) ? "Web PubSub emulator"
                    : commandLine.Contains("azurite", StringComparison.Ordinal) && !commandLine.Contains("sh -c", StringComparison.Ordinal) ? "Azurite (node)"
                    : commandLine.StartsWith("turnserver", StringComparison.Ordinal) ? "coturn"
                    : null;
                if (name is null)
                {
                    continue;
                }
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                long Field(string key) => status.Where(l => l.StartsWith(key, StringComparison.Ordinal))
                    .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture)).FirstOrDefault();
                found.Add((name, Field("VmRSS:"), Field("VmHWM:")));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // The process ended while we looked, or is not ours to read.
            }
        }
        return found;
    }
}
