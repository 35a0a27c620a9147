using Microsoft.AspNetCore.Http;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Http;

/// <summary>RFC 9457 problem+json with a stable <c>code</c>, and reading JSON bodies: what every route shares.</summary>
public static class Problems
{
    /// <summary>Largest JSON body any route takes; a larger one is refused before it is read to the end.</summary>
    public const int MaxJsonBodyBytes = 64 * 1024;

    public static IResult Problem(int status, string title, string detail, string code) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });

    public static IResult Unauthorized() =>
        Problem(StatusCodes.Status401Unauthorized, "Not signed in", "Send a valid bearer token from /api/login.", ErrorCodes.Unauthorized);

    public static IResult Forbidden(string detail) =>
        Problem(StatusCodes.Status403Forbidden, "Not allowed", detail, ErrorCodes.Forbidden);

    public static IResult InvalidPayload(string title, string detail) =>
        Problem(StatusCodes.Status400BadRequest, title, detail, ErrorCodes.InvalidPayload);

    /// <summary>429 <c>rate-limited</c> from a per-minute allowance, with Retry-After: the allowance is whole again within a minute.</summary>
    public static IResult TooMany(HttpRequest request, string title, string detail)
    {
        request.HttpContext.Response.Headers.RetryAfter = "60";
        return Problem(StatusCodes.Status429TooManyRequests, title, detail, ErrorCodes.RateLimited);
    }

    /// <summary>
    /// The request's JSON body: null when there is none; a problem (413 or 400) when it is too large or not JSON of
    /// that shape. Reads at most <see cref="MaxJsonBodyBytes"/> + 1 bytes, whatever Content-Length says (chunked bodies have none).
    /// </summary>
    public static async Task<(T? Body, IResult? Problem)> ReadJsonAsync<T>(HttpRequest request) where T : class
    {
        var tooLarge = Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"A request body may be at most {MaxJsonBodyBytes} bytes.", ErrorCodes.PayloadTooLarge);
        if (request.ContentLength > MaxJsonBodyBytes)
        {
            return (null, tooLarge);
        }
        var buffer = new byte[MaxJsonBodyBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }
        if (length > MaxJsonBodyBytes)
        {
            return (null, tooLarge);
        }
        if (length == 0)
        {
            return (null, null);
        }
        try
        {
            return (System.Text.Json.JsonSerializer.Deserialize<T>(buffer.AsSpan(0, length), ProtocolJson.Options), null);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or InvalidOperationException or NotSupportedException)
        {
            // InvalidOperationException: a string with a lone surrogate, which no .NET string can hold.
            return (null, InvalidPayload("Invalid JSON", "The body is not JSON of the expected shape."));
        }
    }
}
