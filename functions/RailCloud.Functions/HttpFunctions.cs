using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Http;

namespace RailCloud.Functions;

/// <summary>One HTTP trigger per route of the contract, each a line over the shared handlers.</summary>
public sealed class HttpFunctions(SignalingApi api, DeviceApi devices, AccountApi accounts)
{
    [Function(nameof(Login))]
    public Task<IResult> Login([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "login")] HttpRequest request) => api.LoginAsync(request);

    [Function(nameof(Logout))]
    public Task<IResult> Logout([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "logout")] HttpRequest request) => api.LogoutAsync(request);

    [Function(nameof(Negotiate))]
    public Task<IResult> Negotiate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "negotiate")] HttpRequest request) => api.NegotiateAsync(request);

    [Function(nameof(Me))]
    public Task<IResult> Me([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "me")] HttpRequest request) => api.MeAsync(request);

    [Function(nameof(ListKiosks))]
    public Task<IResult> ListKiosks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "kiosks")] HttpRequest request) => api.ListKiosksAsync(request);

    [Function(nameof(KioskEvents))]
    public Task<IResult> KioskEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "kiosks/{kioskId}/events")] HttpRequest request, string kioskId) =>
        api.KioskEventsAsync(request, kioskId);

    [Function(nameof(CreateEnrolment))]
    public Task<IResult> CreateEnrolment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "kiosks/{kioskId}/enrolments")] HttpRequest request, string kioskId) =>
        devices.CreateEnrolmentAsync(request, kioskId);

    [Function(nameof(RegisterDevice))]
    public Task<IResult> RegisterDevice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices")] HttpRequest request) => devices.RegisterAsync(request);

    [Function(nameof(ListDevices))]
    public Task<IResult> ListDevices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices")] HttpRequest request) => devices.ListAsync(request);

    [Function(nameof(DeviceNonce))]
    public Task<IResult> DeviceNonce([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices/nonce")] HttpRequest request) => devices.NonceAsync(request);

    [Function(nameof(DeviceToken))]
    public Task<IResult> DeviceToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices/token")] HttpRequest request) => devices.TokenAsync(request);

    [Function(nameof(RevokeDevice))]
    public Task<IResult> RevokeDevice([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "devices/{deviceId}")] HttpRequest request, string deviceId) =>
        devices.RevokeAsync(request, deviceId);

    [Function(nameof(ListAccounts))]
    public Task<IResult> ListAccounts([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "accounts")] HttpRequest request) => accounts.ListAsync(request);

    [Function(nameof(CreateAccount))]
    public Task<IResult> CreateAccount([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts")] HttpRequest request) => accounts.CreateAsync(request);

    [Function(nameof(RemoveAccount))]
    public Task<IResult> RemoveAccount([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "accounts/{id}")] HttpRequest request, string id) =>
        accounts.RemoveAsync(request, id);

    [Function(nameof(ResetPassword))]
    public Task<IResult> ResetPassword([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "accounts/{id}/password")] HttpRequest request, string id) =>
        accounts.ResetPasswordAsync(request, id);

    [Function(nameof(Health))]
    public Task<IResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) => api.HealthAsync(request);

    /// <summary>The Web PubSub hub's event handler (URL template <c>https://&lt;app&gt;/api/webpubsub/{event}</c>).</summary>
    [Function(nameof(WebPubSubEvent))]
    public Task<IResult> WebPubSubEvent([HttpTrigger(AuthorizationLevel.Anonymous, "options", "post", Route = "webpubsub/{event}")] HttpRequest request) =>
        api.WebPubSubEventAsync(request);
}
