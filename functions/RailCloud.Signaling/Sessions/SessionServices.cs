using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Hub;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Sessions;

public static class SessionServices
{
    /// <summary>Sessions: registration and resume, start and stop, relay, heartbeats, disconnects, and the sweep with its outage grace.</summary>
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<SessionLifecycle>();
        services.AddSingleton<OutageGrace>();
        services.AddSingleton<Sweeper>();
        services.AddSingleton<IKioskWatchers, KioskWatchers>();
        services.AddSingleton<IDisconnectedHandler, DisconnectHandler>();
        services.AddSingleton<IHubEventHandler, KioskRegistration>();
        services.AddSingleton<IHubEventHandler, MonitorRegistration>();
        services.AddSingleton<IHubEventHandler, MonitoringHandler>();
        services.AddSingleton<IHubEventHandler, RelayHandler>();
        services.AddSingleton<IHubEventHandler, HeartbeatHandler>();
        return services;
    }
}
