using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;
using RailCloud.Signaling;

namespace RailCloud.LocalHost.Tests;

/// <summary>
/// What the backend's traces show about a session, captured by OpenTelemetry's in-memory exporter from the whole
/// local stack: one span per handled event with who, which kiosk, which session and how it ended; the storage and
/// Web PubSub calls under it; a refusal with its code; and no secret in any attribute.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<Activity> _spans = new();
    private RailCloudStack _stack = null!;

    public async Task InitializeAsync()
    {
        _stack = await RailCloudStack.StartAsync(services: s => s.AddOpenTelemetry().WithTracing(t => t.AddProcessor(new SimpleActivityExportProcessor(new Exporter(_spans)))));
        await _stack.CreateAccountAsync("KIOSK_TR", Roles.Kiosk);
        await _stack.CreateAccountAsync("MONITOR_TR", Roles.Monitor);
    }

    public async Task DisposeAsync() => await _stack.DisposeAsync();

    /// <summary>Spans of RailCloud's events about these tests' own users (other tests in this process trace too).</summary>
    private List<Activity> EventSpans(string eventName) =>
        [.. _spans.Where(a => a.Source.Name == SignalingTelemetry.SourceName && a.DisplayName == eventName && a.GetTagItem(SignalingTelemetry.CallerTag) is "KIOSK_TR" or "MONITOR_TR")];

    [Fact]
    public async Task EachEventOfASessionIsASpanWithItsKioskSessionAndOutcomeAndItsStorageAndRestCallsUnderIt()
    {
        const string Candidate = "candidate:7 1 udp 2122260223 127.0.0.1 50007 typ host";
        const string Sdp = "v=0\r\no=- 70 2 IN IP4 127.0.0.1\r\ns=traced\r\n";
        await using var kiosk = await _stack.ConnectAsync("KIOSK_TR");
        await using var monitor = await _stack.ConnectAsync("MONITOR_TR");

        var sessionId = (string)(await monitor.StartMonitoringAsync("KIOSK_TR"))["sessionId"]!;
        await monitor.SendOfferAsync("KIOSK_TR", Sdp);
        await kiosk.WaitForAsync(m => (string?)m["event"] == Events.Offer, TimeSpan.FromSeconds(10));
        await kiosk.SendIceCandidateAsync("MONITOR_TR", Candidate);
        await monitor.WaitForAsync(m => (string?)m["event"] == Events.IceCandidate, TimeSpan.FromSeconds(10));
        var refusal = await Assert.ThrowsAsync<RailCloudException>(() => monitor.StopMonitoringAsync("KIOSK_NOBODY"));
        await Waiting.UntilAsync(() => EventSpans(Events.IceCandidate).Count > 0 && EventSpans(Events.StopMonitoring).Count > 0);

        var start = Assert.Single(EventSpans(Events.StartMonitoring));
        Assert.Equal(ActivityKind.Server, start.Kind);
        Assert.Equal(("monitor", "KIOSK_TR", sessionId, "ok"), ((string?)start.GetTagItem(SignalingTelemetry.RoleTag), (string?)start.GetTagItem(SignalingTelemetry.KioskTag),
            (string?)start.GetTagItem(SignalingTelemetry.SessionTag), (string?)start.GetTagItem(SignalingTelemetry.OutcomeTag)));
        Assert.Equal(monitor.ConnectionId, (string?)start.GetTagItem(SignalingTelemetry.ConnectionTag));
        // Its storage calls (Azurite) and Web PubSub REST calls (the emulator) are its children.
        var calls = _spans.Where(a => a.ParentSpanId == start.SpanId && a.Kind == ActivityKind.Client).Select(a => a.GetTagItem("server.port")).ToList();
        Assert.Contains((await RailCloudStack.SharedAzuriteAsync()).TableEndpoint.Port, calls);
        Assert.Contains(_stack.Emulator.BaseUri.Port, calls);

        var candidate = Assert.Single(EventSpans(Events.IceCandidate));
        Assert.Equal(("kiosk", "KIOSK_TR", sessionId, "ok"), ((string?)candidate.GetTagItem(SignalingTelemetry.RoleTag), (string?)candidate.GetTagItem(SignalingTelemetry.KioskTag),
            (string?)candidate.GetTagItem(SignalingTelemetry.SessionTag), (string?)candidate.GetTagItem(SignalingTelemetry.OutcomeTag)));

        var refused = Assert.Single(EventSpans(Events.StopMonitoring));
        Assert.Equal(ErrorCodes.NoSession, refusal.Code);
        Assert.Equal(("refused", ErrorCodes.NoSession, ActivityStatusCode.Error), ((string?)refused.GetTagItem(SignalingTelemetry.OutcomeTag), (string?)refused.GetTagItem(SignalingTelemetry.RefusalCodeTag), refused.Status));

        // Nothing secret or private in any attribute of any span of this test's traces.
        var traces = new[] { start, candidate, refused }.Select(a => a.TraceId).ToHashSet();
        var values = _spans.Where(a => traces.Contains(a.TraceId)).SelectMany(a => a.TagObjects).Select(t => t.Value?.ToString() ?? "").ToList();
        foreach (var secret in new[] { RailCloudStack.Password, monitor.AccessToken, kiosk.AccessToken, "s=traced", "50007", monitor.IceServers.FirstOrDefault()?.Credential ?? "no-credential" })
        {
            Assert.DoesNotContain(values, v => v.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task TheMetersCountSessionsStartedAndEndedRefusalsByCodeAndTimeEachEvent()
    {
        var seen = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SignalingTelemetry.SourceName && instrument.Name is "railcloud.event.duration" or "railcloud.refusals" or "railcloud.sessions.started" or "railcloud.sessions.ended")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(System.Diagnostics.Metrics.Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
            seen.Enqueue((instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value)));
        listener.SetMeasurementEventCallback<long>((i, v, t, _) => Record(i, v, t));
        listener.SetMeasurementEventCallback<double>((i, v, t, _) => Record(i, v, t));
        listener.Start();
        await using var kiosk = await _stack.ConnectAsync("KIOSK_TR");
        await using var monitor = await _stack.ConnectAsync("MONITOR_TR");

        await monitor.StartMonitoringAsync("KIOSK_TR");
        await monitor.StopMonitoringAsync("KIOSK_TR");
        await Assert.ThrowsAsync<RailCloudException>(() => monitor.StopMonitoringAsync("KIOSK_TR"));   // nobody watches it now

        bool Any(string instrument, params (string Key, string Value)[] tags) => seen.Any(m => m.Instrument == instrument && tags.All(t => Equals(m.Tags.GetValueOrDefault(t.Key), t.Value)));
        Assert.True(Any("railcloud.sessions.started"));
        Assert.True(Any("railcloud.sessions.ended", ("reason", EndReasons.Stopped)));
        Assert.True(Any("railcloud.refusals", ("event", Events.StopMonitoring), ("code", ErrorCodes.NoSession)));
        Assert.True(Any("railcloud.event.duration", ("event", Events.StartMonitoring), ("outcome", "ok")));
        Assert.True(Any("railcloud.event.duration", ("event", Events.StopMonitoring), ("outcome", "refused")));
        Assert.All(seen.Where(m => m.Instrument == "railcloud.event.duration"), m => Assert.True(m.Value >= 0));
    }

    private sealed class Exporter(ConcurrentQueue<Activity> into) : BaseExporter<Activity>
    {
        public override ExportResult Export(in Batch<Activity> batch)
        {
            foreach (var activity in batch)
            {
                into.Enqueue(activity);
            }
            return ExportResult.Success;
        }
    }
}
