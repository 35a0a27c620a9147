using Azure.Core;
using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Devices;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Sessions;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling;

public static class DependencyInjection
{
    /// <summary>
    /// Everything the hosts share: the table plumbing (connection strings for the local emulators, managed identity
    /// through a registered <see cref="TokenCredential"/> in Azure), the request authenticator, and each feature.
    /// Options are validated at start.
    /// </summary>
    public static IServiceCollection AddRailCloudSignaling(this IServiceCollection services)
    {
        // The HTTP routes speak the contract as the events do: a field with no value is left out (protocol.ts has it
        // optional), never written as null.
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull);
        services.AddOptions<SecretSettings>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<SecretSettings>, SecretSettings.Check>();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

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
            clientOptions.AddPolicy(sp.GetRequiredService<SignalingMetrics>().StoragePolicy(), HttpPipelinePosition.PerRetry);
            clientOptions.AddPolicy(sp.GetRequiredService<StorageClock>().Policy(), HttpPipelinePosition.PerRetry);
            var service = !string.IsNullOrWhiteSpace(storage.ConnectionString)
                ? new TableServiceClient(storage.ConnectionString, clientOptions)
                : new TableServiceClient(storage.TableServiceUri!, sp.GetService<TokenCredential>() ?? throw new InvalidOperationException("Storage:TableServiceUri needs a TokenCredential (managed identity) registered."), clientOptions);
            return new Tables(service, storage.TablePrefix);
        });
        services.AddSingleton<RequestAuthenticator>();

        services.AddHub();
        services.AddAccounts();
        services.AddKiosks();
        services.AddSessions();
        services.AddDevices();
        return services;
    }
}
