using Microsoft.AspNetCore.Http;
using RailCloud.Protocol;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Flow;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Accounts;

/// <summary>
/// Account management for supervisors, as <c>railcloud accounts</c> does it against storage: list, add (with a
/// generated password shown once), remove, reset a password. Removing or resetting ends the account's tokens and
/// closes its connections.
/// </summary>
public sealed class AccountApi(AccountService accounts, AccountStore store, RequestAuthenticator authenticator, Notifier notify, SignalingMetrics metrics, TimeProvider time)
{
    public async Task<IResult> ListAsync(HttpRequest request)
    {
        metrics.Invoked("accounts");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Accounts").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var now = time.GetUtcNow();
        var list = await store.ListAsync(request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(list.OrderBy(a => a.RowKey, StringComparer.Ordinal)
            .Select(a => new AccountView(a.RowKey, a.Role, a.Source, a.CreatedAt, a.LockedUntil > now)).ToList());
    }

    public async Task<IResult> CreateAsync(HttpRequest request)
    {
        metrics.Invoked("accounts-add");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Accounts").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var (body, unreadable) = await SignalingApi.ReadJsonAsync<CreateAccountRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is not { Id: { Length: > 0 } id, Role: { Length: > 0 } role })
        {
            return SignalingApi.Problem(StatusCodes.Status400BadRequest, "Invalid account", "Send JSON {\"id\": \"…\", \"role\": \"kiosk|monitor|supervisor\", \"password\": \"…\" (optional)}.", ErrorCodes.InvalidPayload);
        }
        var password = string.IsNullOrEmpty(body.Password) ? AccountService.GeneratePassword() : body.Password;
        if (await accounts.CreateAsync(id, role, password, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            return Refused(problem);
        }
        return TypedResults.Json(new AccountCreated(id, role, string.IsNullOrEmpty(body.Password) ? password : null), statusCode: StatusCodes.Status201Created);
    }

    public async Task<IResult> RemoveAsync(HttpRequest request, string id)
    {
        metrics.Invoked("accounts-remove");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Accounts").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        if (id == supervisor.Id)
        {
            return SignalingApi.Problem(StatusCodes.Status400BadRequest, "Not your own account", "You cannot remove the account you are signed in with.", ErrorCodes.InvalidPayload);
        }
        if (await accounts.RemoveAsync(id, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            return Refused(problem);
        }
        await notify.CloseUserAsync(id, "Account removed.", request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    public async Task<IResult> ResetPasswordAsync(HttpRequest request, string id)
    {
        metrics.Invoked("accounts-password");
        var (supervisor, refusal) = await authenticator.SupervisorAsync(request, "Accounts").ConfigureAwait(false);
        if (supervisor is null)
        {
            return refusal;
        }
        var (body, unreadable) = await SignalingApi.ReadJsonAsync<ResetPasswordRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        var password = string.IsNullOrEmpty(body?.Password) ? AccountService.GeneratePassword() : body.Password;
        if (await accounts.ResetPasswordAsync(id, password, request.HttpContext.RequestAborted).ConfigureAwait(false) is { } problem)
        {
            return Refused(problem);
        }
        await notify.CloseUserAsync(id, "Password reset.", request.HttpContext.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(new PasswordReset(id, string.IsNullOrEmpty(body?.Password) ? password : null));
    }

    private static IResult Refused(AccountProblem problem) => problem.Code switch
    {
        ErrorCodes.AccountExists => SignalingApi.Problem(StatusCodes.Status409Conflict, "Account exists", problem.Message, problem.Code),
        ErrorCodes.UnknownAccount => SignalingApi.Problem(StatusCodes.Status404NotFound, "Unknown account", problem.Message, problem.Code),
        ErrorCodes.Unavailable => SignalingApi.Problem(StatusCodes.Status503ServiceUnavailable, "Try again", problem.Message, problem.Code),
        _ => SignalingApi.Problem(StatusCodes.Status400BadRequest, "Invalid account", problem.Message, problem.Code),
    };
}
