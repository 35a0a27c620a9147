using System.Diagnostics;
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

    private static readonly HashSet<string> Known = [.. Events.FromClients, "connect", "connected", "disconnected"];

    /// <summary>The span of one Web PubSub event (null when nobody listens). Unknown event names share one span name.</summary>
    internal static Activity? StartEvent(string eventName, string connectionId, string? userId)
    {
        var activity = Source.StartActivity(Known.Contains(eventName) ? eventName : "unknown-event", ActivityKind.Server);
        activity?.SetTag(EventTag, Hub.HubReplies.Shown(eventName)).SetTag(ConnectionTag, connectionId).SetTag(CallerTag, userId);
        return activity;
    }

    /// <summary>Names, on the current event's span, the kiosk and session it concerns once its handler knows them.</summary>
    public static void About(string? kioskId, string? sessionId = null)
    {
        if (Activity.Current is { Source.Name: SourceName } activity)
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

    /// <summary>Marks the current event's span refused, with the code the client was told.</summary>
    internal static void Refused(string code)
    {
        if (Activity.Current is { Source.Name: SourceName } activity)
        {
            activity.SetTag(OutcomeTag, "refused").SetTag(RefusalCodeTag, code).SetStatus(ActivityStatusCode.Error, code);
        }
    }

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
            .WithMetrics(m => m.AddMeter(SignalingMetrics.MeterName).AddHttpClientInstrumentation())
            .WithLogging(logging => { }, options => options.IncludeFormattedMessage = true);
        if (otlp)
        {
            builder.UseOtlpExporter();
        }
        return services;
    }
}
