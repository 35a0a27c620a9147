using Azure.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling.Hub;

public static class HubServices
{
    /// <summary>Web PubSub (the client, and the event handler's reading), the event router, connection state, notifications, negotiate and ICE servers.</summary>
    public static IServiceCollection AddHub(this IServiceCollection services)
    {
        services.AddOptions<WebPubSubOptions>().BindConfiguration(WebPubSubOptions.SectionName)
            .PostConfigure(o => o.Hub = string.IsNullOrWhiteSpace(o.Hub) ? Protocol.Events.Hub : o.Hub)   // the contract's hub
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AllowanceOptions>().BindConfiguration(AllowanceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<NegotiateOptions>().BindConfiguration(NegotiateOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TurnOptions>().BindConfiguration(TurnOptions.SectionName)
            .PostConfigure<IConfiguration>((turn, configuration) =>
            {
                // Stun:Urls is its own section in the contract.
                var stun = configuration.GetSection("Stun:Urls");
                if (stun.Exists())
                {
                    turn.StunUrls = stun.Value is { } single ? single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [.. stun.GetChildren().Select(c => c.Value!)];
                }
                if (configuration["Turn:Urls"] is { } urls)
                {
                    turn.Urls = urls.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                }
            })
            .ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton(sp => WebPubSubServiceClient.Create(
            sp.GetRequiredService<IOptions<WebPubSubOptions>>().Value, sp.GetService<TokenCredential>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => WebPubSubEventReader.FromOptions(sp.GetRequiredService<IOptions<WebPubSubOptions>>().Value));
        services.AddSingleton<Notifier>();
        services.AddSingleton<IceServerProvider>();
        services.AddSingleton<Allowance>();
        services.AddSingleton<NegotiateLimiter>();
        services.AddSingleton<EventRouter>();
        services.AddSingleton<EventIntake>();
        services.AddSingleton<NegotiateApi>();
        services.AddSingleton<HealthApi>();
        return services;
    }
}
