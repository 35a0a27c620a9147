using RailCloud.Protocol;
using RailCloud.Signaling.Accounts;
using RailCloud.Signaling.Storage;

namespace RailCloud.LocalHost;

/// <summary>
/// With <c>Dev:SeedAccounts=true</c> (run.sh sets it), creates the documented development accounts if they are
/// missing: KIOSK_01..03, MONITOR_01, SUPERVISOR_01. Never on by default.
/// </summary>
public sealed class DevAccounts(AccountService accounts, Tables tables, IConfiguration configuration, ILogger<DevAccounts> logger) : IHostedService
{
    public static readonly (string Id, string Role, string Password)[] All =
    [
        ("KIOSK_01", Roles.Kiosk, "kiosk-dev-pass"),
        ("KIOSK_02", Roles.Kiosk, "kiosk-dev-pass"),
        ("KIOSK_03", Roles.Kiosk, "kiosk-dev-pass"),
        ("MONITOR_01", Roles.Monitor, "monitor-dev-pass"),
        ("SUPERVISOR_01", Roles.Supervisor, "supervisor-dev-pass"),
    ];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!configuration.GetValue<bool>("Dev:SeedAccounts"))
        {
            return;
        }
        await tables.EnsureCreatedAsync(cancellationToken);
        foreach (var (id, role, password) in All)
        {
            if (await accounts.CreateAsync(id, role, password, cancellationToken) is null)
            {
                logger.LogInformation("Created development account {AccountId} ({Role})", id, role);
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
