using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using RailCloud.Signaling.Accounts;

namespace RailCloud.Functions;

/// <summary>The accounts feature's routes as HTTP triggers, each a line over the shared handlers.</summary>
public sealed class AccountFunctions(SignInApi signIn, AccountAdminApi admin)
{
    [Function(nameof(Login))]
    public Task<IResult> Login([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "login")] HttpRequest request) => signIn.LoginAsync(request);

    [Function(nameof(Logout))]
    public Task<IResult> Logout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "logout")] HttpRequest request) => signIn.LogoutAsync(request);

    [Function(nameof(Me))]
    public Task<IResult> Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest request) => signIn.MeAsync(request);

    [Function(nameof(ListAccounts))]
    public Task<IResult> ListAccounts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "accounts")] HttpRequest request) => admin.ListAsync(request);

    [Function(nameof(CreateAccount))]
    public Task<IResult> CreateAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts")] HttpRequest request) => admin.CreateAsync(request);

    [Function(nameof(RemoveAccount))]
    public Task<IResult> RemoveAccount([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "accounts/{id}")] HttpRequest request, string id) =>
        admin.RemoveAsync(request, id);

    [Function(nameof(ResetPassword))]
    public Task<IResult> ResetPassword([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts/{id}/password")] HttpRequest request, string id) =>
        admin.ResetPasswordAsync(request, id);
}
