using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Http;

/// <summary>
/// What an exception that escaped a route becomes, the same in both hosts: storage or Web PubSub out of reach is
/// 503 <c>unavailable</c> with Retry-After (the client may try again; nothing was half-done that a retry would
/// repeat wrongly, since every write is conditional or idempotent); a request the server could not read is its 4xx;
/// anything else is a bug, 500, logged with its stack.
/// </summary>
public sealed class ApiExceptionHandler(ILogger<ApiExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (httpContext.Response.HasStarted)
        {
            return false;
        }
        await ResultFor(httpContext, exception, logger, httpContext.TraceIdentifier).ExecuteAsync(httpContext).ConfigureAwait(false);
        return true;
    }

    /// <summary>The problem+json answer for <paramref name="exception"/>, logged once here; <paramref name="reference"/> lets a user quote it.</summary>
    public static IResult ResultFor(HttpContext httpContext, Exception exception, ILogger logger, string reference)
    {
        var path = httpContext.Request.Path.Value;
        if (exception is BadHttpRequestException bad)
        {
            logger.LogInformation("Refused {Method} {Path}: {Status} {Error}", httpContext.Request.Method, path, bad.StatusCode, bad.Message);
            return bad.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? Problems.Problem(bad.StatusCode, "Request body too large", $"A request body may be at most {Problems.MaxJsonBodyBytes} bytes.", ErrorCodes.PayloadTooLarge)
                : Problems.Problem(bad.StatusCode, "Bad request", bad.Message, ErrorCodes.InvalidPayload);
        }
        if (BackendFailure.Is(exception, httpContext.RequestAborted))
        {
            logger.LogWarning("{Method} {Path} answered 503: storage or Web PubSub unavailable ({Error})", httpContext.Request.Method, path, FirstLine(exception));
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return Problems.Problem(StatusCodes.Status503ServiceUnavailable, "Service unavailable", "RailCloud cannot reach its storage or Web PubSub right now; try again in a few seconds.", ErrorCodes.Unavailable);
        }
        logger.LogError(exception, "{Method} {Path} failed (reference {Reference})", httpContext.Request.Method, path, reference);
        return TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "Something went wrong",
            detail: $"The error was logged with reference {reference}.", extensions: new Dictionary<string, object?> { ["code"] = "internal-error" });
    }

    private static string FirstLine(Exception exception) =>
        (exception is AggregateException { InnerExceptions.Count: > 0 } aggregate ? aggregate.InnerExceptions[^1] : exception).Message.Split('\n')[0];
}
