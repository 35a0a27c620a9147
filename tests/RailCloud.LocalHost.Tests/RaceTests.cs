using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost.Tests;

public sealed class RaceTests : IAsyncLifetime
{
    private const int Monitors = 50;
    private const int Rounds = 20;
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync();
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await Task.WhenAll(Enumerable.Range(0, Monitors).Select(i => _stack.CreateAccountAsync($"MONITOR_{i:D2}", Roles.Monitor)));
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task FiftyMonitorsRacingForOneKioskGetExactlyOneSessionInEveryRound()
    {
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        var monitors = await Task.WhenAll(Enumerable.Range(0, Monitors).Select(i => _stack.ConnectAsync($"MONITOR_{i:D2}")));
        var sessions = _stack.Services.GetRequiredService<SessionStore>();
        try
        {
            for (var round = 0; round < Rounds; round++)
            {
                using var go = new ManualResetEventSlim();
                var attempts = monitors.Select(m => Task.Run(async () =>
                {
                    go.Wait();
                    try
                    {
                        return (Monitor: m, Code: "ok", Session: (string?)(await m.StartMonitoringAsync("KIOSK_01"))["sessionId"]);
                    }
                    catch (RailCloudException ex)
                    {
                        return (Monitor: m, Code: ex.Code, Session: (string?)null);
                    }
                })).ToList();
                go.Set();
                var results = await Task.WhenAll(attempts);

                var winners = results.Where(r => r.Code == "ok").ToList();
                Assert.True(winners.Count == 1, $"round {round}: {winners.Count} winners");
                Assert.All(results.Where(r => r.Code != "ok"), r => Assert.Equal(ErrorCodes.KioskBusy, r.Code));
                var row = await sessions.GetAsync("KIOSK_01");
                Assert.Equal(winners[0].Session, row?.SessionId);
                Assert.Equal(winners[0].Monitor.Id, row?.MonitorId);
                Assert.Single(await sessions.ListAsync());

                await winners[0].Monitor.StopMonitoringAsync("KIOSK_01");
            }
        }
        finally
        {
            foreach (var monitor in monitors)
            {
                await monitor.DisposeAsync();
            }
        }
    }
}
