using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling;
using Xunit.Abstractions;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// What one session costs the backend, counted by the handler's own meters: storage requests and handler
/// invocations (each one a Function invocation in Azure) from login to the first relayed candidate, and then per
/// relayed candidate. The figures are printed; the test holds the design promise that trickled ICE candidates
/// need no storage read once a session is set up.
/// </summary>
public sealed class CostTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync(new Dictionary<string, string?> { ["Sessions:SweepInterval"] = "01:00:00" });
        await _stack.CreateAccountAsync("KIOSK_01", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_01", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    [Fact]
    public async Task RelayedCandidatesNeedNoStorageReadOnceTheSessionIsSetUp()
    {
        using var meters = new Meters(_stack.Services.GetRequiredService<IMeterFactory>());
        await using var kiosk = await _stack.ConnectAsync("KIOSK_01");
        await using var monitor = await RailCloudConnection.ConnectAsync(_stack.Api, "MONITOR_01", RailCloudStack.Password);

        await monitor.RegisterAsync();
        await monitor.StartMonitoringAsync("KIOSK_01");
        await monitor.SendOfferAsync("KIOSK_01", "v=0\r\n");
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, TimeSpan.FromSeconds(10));
        await kiosk.SendAnswerAsync("MONITOR_01", "v=0\r\n");
        await monitor.WaitForAsync(m => (string?)m["event"] == Events.Answer, TimeSpan.FromSeconds(10));
        await monitor.SendIceCandidateAsync("KIOSK_01", "candidate:0 1 udp 1 127.0.0.1 40000 typ host");
        await kiosk.SendIceCandidateAsync("MONITOR_01", "candidate:0 1 udp 1 127.0.0.1 50000 typ host");
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, TimeSpan.FromSeconds(10));
        await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, TimeSpan.FromSeconds(10));
        var setUp = meters.Snapshot();

        const int relayed = 20;
        for (var i = 1; i <= relayed / 2; i++)
        {
            await monitor.SendIceCandidateAsync("KIOSK_01", $"candidate:{i} 1 udp 1 127.0.0.1 {40000 + i} typ host");
            await kiosk.SendIceCandidateAsync("MONITOR_01", $"candidate:{i} 1 udp 1 127.0.0.1 {50000 + i} typ host");
        }
        await Task.Delay(300);
        var steady = meters.Snapshot();

        output.WriteLine($"Session setup, both clients, login → first relayed candidate each way:");
        output.WriteLine($"  storage requests: {setUp.Storage} ({setUp.StorageReads} reads, {setUp.Storage - setUp.StorageReads} writes)");
        output.WriteLine($"  handler invocations: {setUp.Invocations}");
        foreach (var (handler, count) in setUp.ByHandler.OrderBy(p => p.Key))
        {
            output.WriteLine($"    {handler}: {count}");
        }
        output.WriteLine($"Steady state, {relayed} relayed candidates: {steady.Storage - setUp.Storage} storage requests ({steady.StorageReads - setUp.StorageReads} reads), {steady.Invocations - setUp.Invocations} invocations");

        Assert.Equal(0, steady.StorageReads - setUp.StorageReads);
        Assert.Equal(0, steady.Storage - setUp.Storage);
        Assert.Equal(relayed, steady.Invocations - setUp.Invocations);
        Assert.True(setUp.Storage > 0, "the meters saw the setup");
    }

    /// <summary>Listens to this stack's meters only (its own IMeterFactory), so parallel tests do not mix in.</summary>
    private sealed class Meters : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly ConcurrentDictionary<string, long> _storage = new();
        private readonly ConcurrentDictionary<string, long> _handlers = new();

        public Meters(IMeterFactory factory)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == SignalingMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            {
                var tag = tags.Length > 0 ? tags[0].Value?.ToString() ?? "" : "";
                var target = instrument.Name == "railcloud.storage.requests" ? _storage : _handlers;
                target.AddOrUpdate(tag, value, (_, old) => old + value);
            });
            _listener.Start();
        }

        public Snapshot Snapshot() => new(
            _storage.Values.Sum(), _storage.GetValueOrDefault("GET"), _handlers.Values.Sum(), new Dictionary<string, long>(_handlers));

        public void Dispose() => _listener.Dispose();
    }

    private sealed record Snapshot(long Storage, long StorageReads, long Invocations, IReadOnlyDictionary<string, long> ByHandler);
}
