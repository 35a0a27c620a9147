using Microsoft.AspNetCore.Http;

namespace RailCloud.Signaling.Http;

/// <summary>Problem details the framework writes itself (routing refusals) get a stable <c>code</c> like ours.</summary>
public static class ApiRouting
{
    public const string NotFound = "not-found";
    public const string MethodNotAllowed = "method-not-allowed";

    private static string Shown(PathString path) => path.Value is { Length: > 120 } longPath ? longPath[..120] + "…" : path.Value ?? "/";

    public static void AddCode(ProblemDetailsContext context)
    {
        if (context.ProblemDetails.Extensions.ContainsKey("code"))
        {
            return;
        }
        var (code, detail) = context.ProblemDetails.Status switch
        {
            StatusCodes.Status404NotFound => (NotFound, $"There is no {Shown(context.HttpContext.Request.Path)} here; the routes are listed in the README."),
            StatusCodes.Status405MethodNotAllowed => (MethodNotAllowed, $"{context.HttpContext.Request.Method} is not allowed on {Shown(context.HttpContext.Request.Path)}."),
            _ => ((string?)null, (string?)null),
        };
        if (code is not null)
        {
            context.ProblemDetails.Extensions["code"] = code;
            context.ProblemDetails.Detail ??= detail;
        }
    }
}
