using RailCloud.Cli;
using RailCloud.Cli.Load;
using RailCloud.Client;
using RailCloud.Protocol;
using RailCloud.Testing;
using RailCloud.Testing.Wan;

namespace RailCloud.Benchmarks;

/// <summary>
/// One relayed message over a simulated network (<see cref="WanProfile"/>), along the load test's three paths
/// (<see cref="Baselines"/>): a plain WebSocket relay behind the client legs; Web PubSub's own group send, which is
/// what a per-session group for trickled candidates would cost (no Function per message); and RailCloud's path through
/// the event handler and its checks, with every region hop delayed too.
/// </summary>
public static class RelayPathsBenchmark
{
    public static async Task<int> RunAsync(WanProfile profile, int rate, TimeSpan phase)
    {
        Console.WriteLine($"Network profile {profile.Name}: {profile.Description}.");
        await using var wan = await WanStack.StartAsync(profile);
        await wan.Stack.CreateAccountAsync(LoadCommand.KioskId(0), Roles.Kiosk);
        await wan.Stack.CreateAccountAsync(LoadCommand.MonitorId(0), Roles.Monitor);
        using var http = new HttpClient { BaseAddress = wan.ClientUri };
        var fronts = new List<TcpDelayProxy>();
        try
        {
            var reach = new Baselines.Reach(wan.WebPubSubForClients, relayPort =>
            {
                var front = TcpDelayProxy.Start(relayPort, profile.ClientLeg);
                fronts.Add(front);
                return front.Port;
            });
            var results = await Baselines.RunAsync(new RailCloudApi(http), wan.Stack.Emulator.ConnectionString, pairs: 1, rate, phase, RailCloudStack.Password, CancellationToken.None, reach);
            Console.WriteLine($"\n## One relayed message, profile `{profile.Name}` ({profile.Description}; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd})");
            FleetReport.PrintBaselines(results, 1, rate, phase);
        }
        finally
        {
            foreach (var front in fronts)
            {
                await front.DisposeAsync();
            }
        }
        return 0;
    }
}
