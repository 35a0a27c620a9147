using System.Net;

namespace RailCloud.WebPubSub;

/// <summary>The service answered a REST call with a failure status (after retries, for transient ones).</summary>
public sealed class WebPubSubRequestException(HttpStatusCode status, string? errorCode, string message, string operation)
    : Exception($"Web PubSub {operation} failed with {(int)status} {errorCode ?? status.ToString()}: {message}")
{
    public HttpStatusCode Status { get; } = status;

    /// <summary>The service's <c>x-ms-error-code</c>, or the <c>code</c> of its error body.</summary>
    public string? ErrorCode { get; } = errorCode;

    public string Operation { get; } = operation;

    public string ServiceMessage { get; } = message;
}
