using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Accounts;

/// <summary>Signing in and out with a password, and who a token says the caller is.</summary>
public sealed class SignInApi(AccountService accounts, RequestAuthenticator authenticator, Notifier notify, SignInLimiter limiter, SignalingMetrics metrics, ILogger<SignInApi> logger)
{
    public async Task<IResult> LoginAsync(HttpRequest request)
    {
        metrics.Invoked("login");
        if (limiter.Refusal(request, logger, "Login", "Too many login attempts") is { } throttled)
        {
            return throttled;
        }
        var (body, unreadable) = await Problems.ReadJsonAsync<LoginRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is null || string.IsNullOrEmpty(body.Id) || string.IsNullOrEmpty(body.Password) || body.Id.Length > 200 || body.Password.Length > 1024)
        {
            return Problems.InvalidPayload("Invalid login request", "Send JSON {\"id\": \"...\", \"password\": \"...\"}.");
        }
        var (outcome, response) = await accounts.LoginAsync(body.Id, body.Password, request.HttpContext.RequestAborted).ConfigureAwait(false);
        return outcome switch
        {
            LoginOutcome.Success => TypedResults.Ok(response),
            LoginOutcome.LockedOut => Problems.Problem(StatusCodes.Status429TooManyRequests, "Too many failed logins", "This account is locked for a few minutes after repeated failures.", ErrorCodes.RateLimited),
            _ => Problems.Problem(StatusCodes.Status401Unauthorized, "Login failed", "Unknown id or wrong password.", ErrorCodes.Unauthorized),
        };
    }

    public async Task<IResult> LogoutAsync(HttpRequest request)
    {
        metrics.Invoked("logout");
        var caller = await authenticator.AuthenticateAsync(request).ConfigureAwait(false);
        if (caller is null)
        {
            return Problems.Unauthorized();
        }
        await accounts.LogoutAsync(caller.Id, request.HttpContext.RequestAborted).ConfigureAwait(false);
        await notify.CloseUserAsync(caller.Id, "Logged out.", request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    /// <summary>Who the bearer token says the caller is, for pages that show more to supervisors (any sign-in kind).</summary>
    public async Task<IResult> MeAsync(HttpRequest request)
    {
        metrics.Invoked("me");
        var caller = await authenticator.AuthenticateAsync(request).ConfigureAwait(false);
        return caller is null ? Problems.Unauthorized() : TypedResults.Ok(new CallerView(caller.Id, caller.Role, caller.DeviceId));
    }
}
