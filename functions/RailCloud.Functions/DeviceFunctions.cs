using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using RailCloud.Signaling.Devices;

namespace RailCloud.Functions;

/// <summary>The devices feature's routes as HTTP triggers, each a line over the shared handlers.</summary>
public sealed class DeviceFunctions(EnrolmentApi enrolment, DeviceSignInApi signIn, DeviceAdminApi admin)
{
    [Function(nameof(CreateEnrolment))]
    public Task<IResult> CreateEnrolment([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "kiosks/{kioskId}/enrolments")] HttpRequest request, string kioskId) =>
        enrolment.CreateAsync(request, kioskId);

    [Function(nameof(RegisterDevice))]
    public Task<IResult> RegisterDevice([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices")] HttpRequest request) => enrolment.RegisterAsync(request);

    [Function(nameof(DeviceNonce))]
    public Task<IResult> DeviceNonce([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices/nonce")] HttpRequest request) => signIn.NonceAsync(request);

    [Function(nameof(DeviceToken))]
    public Task<IResult> DeviceToken([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "devices/token")] HttpRequest request) => signIn.TokenAsync(request);

    [Function(nameof(ListDevices))]
    public Task<IResult> ListDevices([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "devices")] HttpRequest request) => admin.ListAsync(request);

    [Function(nameof(RevokeDevice))]
    public Task<IResult> RevokeDevice([HttpTrigger(AuthorizationLevel.Anonymous, "delete", Route = "devices/{deviceId}")] HttpRequest request, string deviceId) =>
        admin.RevokeAsync(request, deviceId);
}
