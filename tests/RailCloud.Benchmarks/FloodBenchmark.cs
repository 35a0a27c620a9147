using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using HdrHistogram;
using RailCloud.Client;
using RailCloud.Protocol;
using RailCloud.Testing;

namespace RailCloud.Benchmarks;

/// <summary>
/// Floods against the whole local stack (API, emulator, Azurite, with the production allowances): one connection
/// sending signaling as fast as it can, one address trying logins as fast as it can, one token asking for connection
/// URLs as fast as it can. Beside each, an honest pair relays ICE candidates at 15 a second each way; its relay
/// latency during the flood is printed beside its latency before, with the ratio (the goal: within 2×).
/// </summary>
public static class FloodBenchmark
{
    private const int Pace = 15;

    public static async Task<int> RunAsync(TimeSpan phase)
    {
        await using var stack = await RailCloudStack.StartAsync(new Dictionary<string, string?>
        {
            // The allowances as deployed (the test stack raises the login one for its own many logins).
            ["Auth:LoginsPerMinutePerAddress"] = "30",
        });
        foreach (var (id, role) in new[] { ("KIOSK_V", Roles.Kiosk), ("MONITOR_V", Roles.Monitor), ("KIOSK_F", Roles.Kiosk), ("MONITOR_F", Roles.Monitor) })
        {
            await stack.CreateAccountAsync(id, role);
        }
        await using var kiosk = await stack.ConnectAsync("KIOSK_V");
        await using var monitor = await stack.ConnectAsync("MONITOR_V");
        await monitor.StartMonitoringAsync("KIOSK_V");
        await using var floodedKiosk = await stack.ConnectAsync("KIOSK_F");
        var flooderLogin = await stack.Api.LoginAsync("MONITOR_F", RailCloudStack.Password);
        Console.WriteLine($"Flood benchmark: {phase.TotalSeconds:0} s a phase, an honest pair relaying {Pace} candidates/s each way, on {Environment.ProcessorCount} cores.");

        await RelayAsync(kiosk, monitor, TimeSpan.FromSeconds(5), CancellationToken.None);   // warm-up: JIT tiers and connection pools
        var rows = new List<(string Name, string Flood, LongHistogram Relay)>();
        rows.Add(("before (no flood)", "–", await RelayAsync(kiosk, monitor, phase, CancellationToken.None)));

        // One connection sends candidates as fast as it can (64 in flight); when it is closed it connects again while its token may.
        {
            using var stop = new CancellationTokenSource();
            var counts = new Counts();
            var flood = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    RailCloudConnection flooder;
                    try
                    {
                        flooder = await RailCloudConnection.ConnectAsync(stack.Api, flooderLogin, stop.Token);
                        await flooder.RegisterAsync(cancellationToken: stop.Token);
                        await flooder.StartMonitoringAsync("KIOSK_F", stop.Token);
                        counts.Add("connections");
                    }
                    catch (Exception ex) when (ex is RailCloudException or OperationCanceledException or TimeoutException)
                    {
                        counts.Add(ex is RailCloudException r ? "connect:" + r.Code : "connect:failed");
                        await Task.Delay(200, CancellationToken.None);
                        continue;
                    }
                    await using (flooder)
                    {
                        await Task.WhenAll(Enumerable.Range(0, 64).Select(async lane =>
                        {
                            for (var n = 0; !stop.IsCancellationRequested && flooder.ClosedReason is null; n++)
                            {
                                try
                                {
                                    await flooder.SendIceCandidateAsync("KIOSK_F", $"candidate:{lane} 1 udp {n} 127.0.0.1 9 typ host", cancellationToken: stop.Token);
                                    counts.Add("accepted");
                                }
                                catch (RailCloudException ex)
                                {
                                    counts.Add(ex.Code == ErrorCodes.RateLimited ? "rate-limited" : "closed");
                                }
                                catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
                                {
                                    return;
                                }
                            }
                        }));
                    }
                }
            });
            var relay = await RelayAsync(kiosk, monitor, phase, CancellationToken.None);
            await stop.CancelAsync();
            await flood;
            rows.Add(("signaling flood, one connection", counts.ToString(), relay));
        }

        // One address tries logins (a wrong password) as fast as it can, 32 at a time.
        var (loginFlood, loginRelay) = await FloodAsync(stack, phase, kiosk, monitor, async http =>
        {
            using var response = await http.PostAsJsonAsync("api/login", new { id = "MONITOR_F", password = "guess-" + Random.Shared.Next() });
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        });
        rows.Add(("login flood, one address", loginFlood, loginRelay));

        // One token asks for connection URLs as fast as it can, 32 at a time.
        var (negotiateFlood, negotiateRelay) = await FloodAsync(stack, phase, kiosk, monitor, async http =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "api/negotiate");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", flooderLogin.AccessToken);
            using var response = await http.SendAsync(request);
            return ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        });
        rows.Add(("negotiate flood, one token", negotiateFlood, negotiateRelay));

        var before = rows[0].Relay;
        Console.WriteLine();
        Console.WriteLine("| phase | what the flood got | honest relay p50 / p99 | p50 ratio / p99 ratio to before |");
        Console.WriteLine("|---|---|---|---|");
        foreach (var (name, flood, relay) in rows)
        {
            Console.WriteLine($"| {name} | {flood} | {Ms(relay, 50):F2} ms / {Ms(relay, 99):F2} ms | {Ms(relay, 50) / Ms(before, 50):F2}× / {Ms(relay, 99) / Ms(before, 99):F2}× |");
        }
        return 0;
    }

    /// <summary>Runs <paramref name="request"/> 32 at a time for the phase while the honest pair relays; counts the answers (HTTP statuses).</summary>
    private static async Task<(string Flood, LongHistogram Relay)> FloodAsync(RailCloudStack stack, TimeSpan phase, RailCloudConnection kiosk, RailCloudConnection monitor, Func<HttpClient, Task<string>> request)
    {
        using var stop = new CancellationTokenSource();
        using var http = new HttpClient { BaseAddress = stack.BaseUri };
        var counts = new Counts();
        var flood = Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
        {
            while (!stop.IsCancellationRequested)
            {
                counts.Add("HTTP " + await request(http));
            }
        }));
        var relay = await RelayAsync(kiosk, monitor, phase, CancellationToken.None);
        await stop.CancelAsync();
        await flood;
        return (counts.ToString(), relay);
    }

    /// <summary>The honest pair relays candidates both ways at <see cref="Pace"/> a second each for <paramref name="duration"/>; send → arrival latency.</summary>
    private static async Task<LongHistogram> RelayAsync(RailCloudConnection kiosk, RailCloudConnection monitor, TimeSpan duration, CancellationToken cancellationToken)
    {
        var histogram = new LongHistogram(TimeStamp.Minutes(1), 3);
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        for (var n = 1; Stopwatch.GetTimestamp() < end; n++)
        {
            var next = Stopwatch.GetTimestamp() + Stopwatch.Frequency / Pace;
            await Task.WhenAll(OneAsync(monitor, kiosk, "KIOSK_V", n), OneAsync(kiosk, monitor, "MONITOR_V", n));
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
        }
        return histogram;

        async Task OneAsync(RailCloudConnection from, RailCloudConnection to, string target, int n)
        {
            var marker = $"candidate:{n} 1 udp {n} 127.0.0.1 {40000 + n % 20000} typ host";
            var start = Stopwatch.GetTimestamp();
            var arrives = to.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate && (string?)m["candidate"]?["candidate"] == marker, TimeSpan.FromSeconds(30), cancellationToken);
            await from.SendIceCandidateAsync(target, marker, cancellationToken: cancellationToken);
            await arrives;
            lock (histogram)
            {
                histogram.RecordValue(Stopwatch.GetTimestamp() - start);
            }
        }
    }

    private static double Ms(LongHistogram histogram, double percentile) => histogram.GetValueAtPercentile(percentile) * 1000.0 / Stopwatch.Frequency;

    private sealed class Counts
    {
        private readonly Dictionary<string, long> _counts = [];

        public void Add(string what)
        {
            lock (_counts)
            {
                _counts[what] = _counts.GetValueOrDefault(what) + 1;
            }
        }

        public override string ToString()
        {
            lock (_counts)
            {
                return string.Join(", ", _counts.OrderByDescending(c => c.Value).Select(c => $"{c.Key}: {c.Value:N0}"));
            }
        }
    }
}
