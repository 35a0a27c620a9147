using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Functions;

/// <summary>The hub's and the kiosks' routes as HTTP triggers, each a line over the shared handlers.</summary>
public sealed class HubFunctions(NegotiateApi negotiate, EventIntake intake, HealthApi health, KioskApi kiosks)
{
    [Function(nameof(Negotiate))]
    public Task<IResult> Negotiate([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "negotiate")] HttpRequest request) => negotiate.NegotiateAsync(request);

    /// <summary>The Web PubSub hub's event handler (URL template <c>https://&lt;app&gt;/api/webpubsub/{event}</c>).</summary>
    [Function(nameof(WebPubSubEvent))]
    public Task<IResult> WebPubSubEvent([HttpTrigger(AuthorizationLevel.Anonymous, "options", "post", Route = "webpubsub/{event}")] HttpRequest request) =>
        intake.HandleAsync(request);

    [Function(nameof(Health))]
    public Task<IResult> Health([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "health")] HttpRequest request) => health.CheckAsync(request);

    [Function(nameof(ListKiosks))]
    public Task<IResult> ListKiosks([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "kiosks")] HttpRequest request) => kiosks.ListAsync(request);

    [Function(nameof(KioskEvents))]
    public Task<IResult> KioskEvents([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "kiosks/{kioskId}/events")] HttpRequest request, string kioskId) =>
        kiosks.EventsAsync(request, kioskId);
}
