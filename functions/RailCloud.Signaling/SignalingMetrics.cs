using System.Diagnostics.Metrics;
using Azure.Core;
using Azure.Core.Pipeline;

namespace RailCloud.Signaling;

/// <summary>
/// Counters for what the backend costs: storage requests (by HTTP method, so reads and writes can be told apart)
/// and handler invocations (HTTP routes and Web PubSub events; each is one Function invocation in Azure).
/// Exported by whatever metrics pipeline the host adds (OpenTelemetry, dotnet-counters).
/// </summary>
public sealed class SignalingMetrics
{
    public const string MeterName = "RailCloud.Signaling";

    private readonly Counter<long> _storage;
    private readonly Counter<long> _invocations;

    public SignalingMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _storage = meter.CreateCounter<long>("railcloud.storage.requests", description: "Table Storage requests, including retries.");
        _invocations = meter.CreateCounter<long>("railcloud.handler.invocations", description: "HTTP routes and Web PubSub events handled.");
    }

    public void Invoked(string what) => _invocations.Add(1, new KeyValuePair<string, object?>("handler", what));

    /// <summary>Counts every storage request the Azure SDK sends (each retry too).</summary>
    public HttpPipelinePolicy StoragePolicy() => new CountingPolicy(_storage);

    private sealed class CountingPolicy(Counter<long> counter) : HttpPipelineSynchronousPolicy
    {
        public override void OnSendingRequest(HttpMessage message) =>
            counter.Add(1, new KeyValuePair<string, object?>("method", message.Request.Method.ToString()));
    }
}
