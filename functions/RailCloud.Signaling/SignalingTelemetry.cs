using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using RailCloud.Protocol;

namespace RailCloud.Signaling;

/// <summary>
/// RailCloud's traces: one span per handled Web PubSub event, named by the event, with what an operator asks about
/// (who sent it on which connection, the kiosk and the session, and how it ended: <c>ok</c>, or <c>refused</c> with
/// the refusal's code); the Web PubSub REST and Table Storage calls it makes are its children (HTTP client spans).
/// Never an attribute: a token, a password, an SDP, a candidate, a TURN credential or an enrolment code.
/// </summary>
public static class SignalingTelemetry
{
    public const string SourceName = "RailCloud.Signaling";

    public const string EventTag = "railcloud.event";
    public const string ConnectionTag = "railcloud.connection";
    public const string CallerTag = "railcloud.caller";
    public const string RoleTag = "railcloud.role";
    public const string KioskTag = "railcloud.kiosk";
    public const string SessionTag = "railcloud.session";
    public const string OutcomeTag = "railcloud.outcome";
    public const string RefusalCodeTag = "railcloud.refusal.code";

    internal static readonly ActivitySource Source = new(SourceName);

    // Beside SignalingMetrics' counters (same meter name): what the control room watches.
    private static readonly Meter Meter = new(SourceName);
    private static readonly Histogram<double> EventDuration = Meter.CreateHistogram<double>("railcloud.event.duration", "ms", "How long handling one Web PubSub event took, by event and outcome.");
    private static readonly Counter<long> Refusals = Meter.CreateCounter<long>("railcloud.refusals", description: "Events refused, by event and error code.");
    private static readonly Counter<long> SessionsStarted = Meter.CreateCounter<long>("railcloud.sessions.started", description: "Sessions started.");
    private static readonly Counter<long> SessionsEnded = Meter.CreateCounter<long>("railcloud.sessions.ended", description: "Sessions ended, by reason.");

    private static readonly HashSet<string> Known = [.. Events.FromClients, "connect", "connected", "disconnected"];

    /// <summary>The name an event's span and series go by: its own if the contract knows it, so a client cannot make new ones.</summary>
    private static string Series(string eventName) => Known.Contains(eventName) ? eventName : "unknown-event";
    private static readonly AsyncLocal<EventScope?> Current = new();

    /// <summary>
    /// One Web PubSub event being handled: its span (when anyone listens), its duration and its outcome, recorded
    /// when disposed. Unknown event names share one name, so a client cannot make new series.
    /// </summary>
    internal sealed class EventScope : IDisposable
    {
        private readonly long _started = Stopwatch.GetTimestamp();
        private readonly EventScope? _outer = Current.Value;
        private readonly string _event;
        private string _outcome = "ok";

        internal EventScope(string eventName, string connectionId, string? userId)
        {
            _event = Series(eventName);
            Activity = Source.StartActivity(_event, ActivityKind.Server);
            Activity?.SetTag(EventTag, Hub.HubReplies.Shown(eventName)).SetTag(ConnectionTag, connectionId).SetTag(CallerTag, userId);
            Current.Value = this;
        }

        internal Activity? Activity { get; }

        internal void Ended(string outcome, string? code = null)
        {
            _outcome = outcome;
            Activity?.SetTag(OutcomeTag, outcome).SetTag(RefusalCodeTag, code).SetStatus(ActivityStatusCode.Error, code ?? outcome);
        }

        public void Dispose()
        {
            Activity?.SetTag(OutcomeTag, _outcome);
            EventDuration.Record(Stopwatch.GetElapsedTime(_started).TotalMilliseconds, new KeyValuePair<string, object?>("event", _event), new KeyValuePair<string, object?>("outcome", _outcome));
            Activity?.Dispose();
            Current.Value = _outer;
        }
    }

    /// <summary>The span and measurements of one Web PubSub event, until disposed.</summary>
    internal static EventScope StartEvent(string eventName, string connectionId, string? userId) => new(eventName, connectionId, userId);

    /// <summary>Names, on the current event's span, the kiosk and session it concerns once its handler knows them.</summary>
    public static void About(string? kioskId, string? sessionId = null)
    {
        if (Current.Value?.Activity is { } activity)
        {
            if (kioskId is not null)
            {
                activity.SetTag(KioskTag, kioskId);
            }
            if (sessionId is not null)
            {
                activity.SetTag(SessionTag, sessionId);
            }
        }
    }

    /// <summary>Names the caller's role on the current event's span.</summary>
    internal static void Caller(string role) => Current.Value?.Activity?.SetTag(RoleTag, role);

    /// <summary>The current event was refused with <paramref name="code"/> (what the client was told).</summary>
    internal static void Refused(string eventName, string code)
    {
        Refusals.Add(1, new KeyValuePair<string, object?>("event", Series(eventName)), new KeyValuePair<string, object?>("code", code));
        Current.Value?.Ended("refused", code);
    }

    /// <summary>Storage or Web PubSub failed under the current event.</summary>
    internal static void Unavailable() => Current.Value?.Ended("unavailable");

    internal static void SessionStarted() => SessionsStarted.Add(1);

    internal static void SessionEnded(string reason) => SessionsEnded.Add(1, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>
    /// The telemetry every host adds: RailCloud's spans with their HTTP client children, RailCloud's meters, and logs
    /// through OpenTelemetry (each line with its trace id); exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// is set (the Aspire dashboard, a collector). <paramref name="tracing"/> adds what only the host knows (its server
    /// spans, another exporter).
    /// </summary>
    public static IServiceCollection AddRailCloudTelemetry(this IServiceCollection services, string serviceName, Action<TracerProviderBuilder>? tracing = null)
    {
        var otlp = !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("OTEL_EXPORTER_OTLP_ENDPOINT"));
        var builder = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName))
            .WithTracing(t =>
            {
                t.AddSource(SourceName).AddHttpClientInstrumentation();
                tracing?.Invoke(t);
            })
            .WithMetrics(m => m.AddMeter(SignalingMetrics.MeterName, SourceName).AddHttpClientInstrumentation())
            .WithLogging(logging => { }, options => options.IncludeFormattedMessage = true);
        if (otlp)
        {
            builder.UseOtlpExporter();
        }
        return services;
    }
}
