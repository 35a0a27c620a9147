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
using RailCloud.Signaling.WebPubSub;

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
        services.AddOptions<WebPubSubOptions>().BindConfiguration(WebPubSubOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
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

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<SignalingMetrics>();
        services.AddSingleton(sp =>
        {
            var storage = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var clientOptions = new TableClientOptions();
            clientOptions.AddPolicy(sp.GetRequiredService<SignalingMetrics>().StoragePolicy(), Azure.Core.HttpPipelinePosition.PerRetry);
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
