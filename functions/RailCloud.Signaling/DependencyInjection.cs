using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Auth;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Flow;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Storage;
using RailCloud.WebPubSub;

namespace RailCloud.Signaling;

public static class DependencyInjection
{
    /// <summary>
    /// Everything the hosts share: options (validated at start), Azure clients (connection strings for the local
    /// emulators, managed identity through a registered <see cref="TokenCredential"/> in Azure), stores, rules and the HTTP API.
    /// </summary>
    public static IServiceCollection AddRailCloudSignaling(this IServiceCollection services)
    {
        services.AddOptions<SecretSettings>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecretSettings>, SecretSettings.Check>();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebPubSubOptions>().BindConfiguration(WebPubSubOptions.SectionName)
            .PostConfigure(o => o.Hub = string.IsNullOrWhiteSpace(o.Hub) ? "railcloud" : o.Hub)   // the contract's hub
            .ValidateDataAnnotations().ValidateOnStart();
        services.AddRailCloudEntraId();
        services.AddOptions<DeviceOptions>().BindConfiguration(DeviceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
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

        // Everything reads "now" from storage's clock (see StorageClock); a host or test may register its own
        // TimeProvider instance first, which then stands for this machine's clock.
        var hostClock = services.LastOrDefault(d => d.ServiceType == typeof(TimeProvider))?.ImplementationInstance as TimeProvider ?? TimeProvider.System;
        services.RemoveAll<TimeProvider>();
        var clock = new StorageClock(hostClock);
        services.AddSingleton(clock);
        services.AddSingleton<TimeProvider>(clock);
        services.AddMetrics();
        services.AddSingleton<SignalingMetrics>();
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            // Fail fast: a user event waits on its handler, and Web PubSub handles one connection's events in order,
            // so an event stuck in the SDK's default retries (≈ 6 s, with a 100 s network timeout) would hold up even
            // the signaling behind it that needs no storage at all. Three quick retries still ride out a blip.
            var clientOptions = new TableClientOptions
            {
                Retry = { MaxRetries = 3, Delay = TimeSpan.FromMilliseconds(100), MaxDelay = TimeSpan.FromSeconds(1), NetworkTimeout = TimeSpan.FromSeconds(10) },
            };
            clientOptions.AddPolicy(sp.GetRequiredService<SignalingMetrics>().StoragePolicy(), Azure.Core.HttpPipelinePosition.PerRetry);
            clientOptions.AddPolicy(sp.GetRequiredService<StorageClock>().Policy(), Azure.Core.HttpPipelinePosition.PerRetry);
            var service = !string.IsNullOrWhiteSpace(storage.ConnectionString)
                ? new TableServiceClient(storage.ConnectionString, clientOptions)
                : new TableServiceClient(storage.TableServiceUri!, sp.GetService<TokenCredential>() ?? throw new InvalidOperationException("Storage:TableServiceUri needs a TokenCredential (managed identity) registered."), clientOptions);
            return new Tables(service, storage.TablePrefix);
        });
        services.AddSingleton(sp => WebPubSubServiceClient.Create(
            sp.GetRequiredService<IOptions<WebPubSubOptions>>().Value, sp.GetService<TokenCredential>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => WebPubSubEventReader.FromOptions(sp.GetRequiredService<IOptions<WebPubSubOptions>>().Value));

        services.AddSingleton<AccountStore>();
        services.AddSingleton<KioskStore>();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<AuditStore>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<IceServerProvider>();
        services.AddSingleton<Notifier>();
        services.AddSingleton<KioskDirectory>();
        services.AddSingleton<SessionLifecycle>();
        services.AddSingleton<SignalingHandler>();
        services.AddSingleton<SignInLimiter>();
        services.AddSingleton<DeviceSignInLimiter>();
        services.AddSingleton<NegotiateLimiter>();
        services.AddSingleton<DeviceStore>();
        services.AddSingleton<DeviceService>();
        services.AddSingleton<RequestAuthenticator>();
        services.AddSingleton<SignalingApi>();
        services.AddSingleton<DeviceApi>();
        services.AddSingleton<Accounts.AccountApi>();
        return services;
    }
}
