using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Accounts;

/// <summary>The accounts feature's routes: sign-in and out with a password, who the caller is, and account management for supervisors.</summary>
public static class AccountRoutes
{
    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Accounts");
        api.MapPost("/login", (HttpRequest request, SignInApi signIn) => signIn.LoginAsync(request));
        api.MapPost("/logout", (HttpRequest request, SignInApi signIn) => signIn.LogoutAsync(request));
        api.MapGet("/me", (HttpRequest request, SignInApi signIn) => signIn.MeAsync(request));
        // Supervisors only: AccountAdminApi asks the authenticator once per route for that role.
        var accounts = api.MapGroup("/accounts");
        accounts.MapGet("", (HttpRequest request, AccountAdminApi admin) => admin.ListAsync(request));
        accounts.MapPost("", (HttpRequest request, AccountAdminApi admin) => admin.CreateAsync(request));
        accounts.MapDelete("/{id}", (HttpRequest request, string id, AccountAdminApi admin) => admin.RemoveAsync(request, id));
        accounts.MapPost("/{id}/password", (HttpRequest request, string id, AccountAdminApi admin) => admin.ResetPasswordAsync(request, id));
        return api;
    }
}

/// <summary>
/// Account management for supervisors, as <c>railcloud accounts</c> does it against storage: list, add (with a
/// generated password shown once), remove, reset a password. Removing or resetting ends the account's tokens and
/// closes its connections.
/// </summary>
public sealed class AccountAdminApi(AccountService accounts, AccountStore store, RequestAuthenticator authenticator, Notifier notify, SignalingMetrics metrics, TimeProvider time)
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
        var (body, unreadable) = await Problems.ReadJsonAsync<CreateAccountRequest>(request).ConfigureAwait(false);
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (body is not { Id: { Length: > 0 } id, Role: { Length: > 0 } role })
        {
            return Problems.Problem(StatusCodes.Status400BadRequest, "Invalid account", "Send JSON {\"id\": \"…\", \"role\": \"kiosk|monitor|supervisor\", \"password\": \"…\" (optional)}.", ErrorCodes.InvalidPayload);
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
            return Problems.Problem(StatusCodes.Status400BadRequest, "Not your own account", "You cannot remove the account you are signed in with.", ErrorCodes.InvalidPayload);
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
        var (body, unreadable) = await Problems.ReadJsonAsync<ResetPasswordRequest>(request).ConfigureAwait(false);
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
        ErrorCodes.AccountExists => Problems.Problem(StatusCodes.Status409Conflict, "Account exists", problem.Message, problem.Code),
        ErrorCodes.UnknownAccount => Problems.Problem(StatusCodes.Status404NotFound, "Unknown account", problem.Message, problem.Code),
        ErrorCodes.Unavailable => Problems.Problem(StatusCodes.Status503ServiceUnavailable, "Try again", problem.Message, problem.Code),
        _ => Problems.Problem(StatusCodes.Status400BadRequest, "Invalid account", problem.Message, problem.Code),
    };
}
