using Microsoft.Extensions.DependencyInjection;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Hub;

namespace RailCloud.Signaling.Accounts;

public static class AccountServices
{
    /// <summary>Accounts, passwords, our tokens, Entra ID, the sign-in allowance, and admission of new connections.</summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRailCloudEntraId();
        services.AddSingleton<AccountStore>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<SignInLimiter>();
        services.AddSingleton<ICallerTokens, CallerTokens>();
        services.AddSingleton<IEventHandlerIdentity, WebPubSubIdentity>();
        services.AddSingleton<IConnectHandler, ConnectAdmission>();
        services.AddSingleton<SignInApi>();
        services.AddSingleton<AccountAdminApi>();
        return services;
    }
}
