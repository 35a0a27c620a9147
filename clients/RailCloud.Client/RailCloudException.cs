namespace RailCloud.Client;

/// <summary>The backend refused a request: <see cref="Code"/> is one of <see cref="Protocol.ErrorCodes"/> (or an HTTP problem's code).</summary>
public sealed class RailCloudException(string code, string message, string? requestEvent = null, int? httpStatus = null, TimeSpan? retryAfter = null)
    : Exception($"{code}: {message}")
{
    public string Code { get; } = code;
    public string ServerMessage { get; } = message;
    public string? RequestEvent { get; } = requestEvent;
    public int? HttpStatus { get; } = httpStatus;
    /// <summary>How long the server asked the caller to wait before trying again (its Retry-After), if it said.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;
}
