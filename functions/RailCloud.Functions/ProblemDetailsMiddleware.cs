using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace RailCloud.Functions;

/// <summary>An unhandled exception in an HTTP function becomes a 500 problem+json, logged with the invocation id.</summary>
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
            logger.LogError(ex, "Function {Function} failed (invocation {InvocationId})", context.FunctionDefinition.Name, context.InvocationId);
            await Results.Problem(
                statusCode: StatusCodes.Status500InternalServerError,
                title: "Something went wrong",
                detail: $"The error was logged with invocation id {context.InvocationId}.",
                extensions: new Dictionary<string, object?> { ["code"] = "unavailable" }).ExecuteAsync(http);
        }
    }
}
