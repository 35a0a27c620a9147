using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;
using RailCloud.Signaling.Http;

namespace RailCloud.Functions;

/// <summary>
/// An exception that escapes an HTTP function becomes problem+json as in the local host (<see cref="ApiExceptionHandler"/>):
/// 503 <c>unavailable</c> when storage or Web PubSub is out of reach, 500 with the invocation id otherwise.
/// </summary>
public sealed class ProblemDetailsMiddleware(ILogger<ProblemDetailsMiddleware> logger) : IFunctionsWorkerMiddleware
{
    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception ex) when (context.GetHttpContext() is { Response.HasStarted: false } http)
        {
            await ApiExceptionHandler.ResultFor(http, ex, logger, context.InvocationId).ExecuteAsync(http);
        }
    }
}
