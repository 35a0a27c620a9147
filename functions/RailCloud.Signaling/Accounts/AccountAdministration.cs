using System.Security.Cryptography;
using Azure.Data.Tables;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using RailCloud.Signaling.Kiosks;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Accounts;

/// <summary>One account as <c>railcloud accounts list</c> shows it.</summary>
public sealed record AccountListing(string Id, string Role, DateTimeOffset CreatedAt, DateTimeOffset? LockedUntil);

/// <summary>
/// The accounts feature's surface for tools that manage accounts straight in Table Storage (<c>railcloud accounts</c>,
/// the load test's fleet): the same rules the API applies, and nothing else of the core.
/// </summary>
public sealed class AccountAdministration
{
    private readonly Tables _tables;
    private readonly AccountService _service;
    private readonly AccountStore _accounts;

    private AccountAdministration(TableServiceClient storage, string tablePrefix)
    {
        _tables = new Tables(storage, tablePrefix);
        _accounts = new AccountStore(_tables);
        // Account management never issues tokens; the signing key here only satisfies the constructor.
        var tokens = new TokenService(Options.Create(new AuthOptions { SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48)) }), TimeProvider.System);
        _service = new AccountService(_accounts, new KioskStore(_tables), tokens, Options.Create(new AuthOptions()), TimeProvider.System, NullLogger<AccountService>.Instance);
    }

    /// <summary>Opens RailCloud's accounts in <paramref name="storage"/>, creating the tables if there are none yet.</summary>
    public static async Task<AccountAdministration> OpenAsync(TableServiceClient storage, string tablePrefix, CancellationToken cancellationToken = default)
    {
        var administration = new AccountAdministration(storage, tablePrefix);
        await administration._tables.EnsureCreatedAsync(cancellationToken).ConfigureAwait(false);
        return administration;
    }

    /// <summary>A password for a new account or a reset: 16 random letters and digits.</summary>
    public static string GeneratePassword() => AccountService.GeneratePassword();

    /// <summary>Creates an account (and a kiosk's presence row); the problem in words, or null on success.</summary>
    public async Task<string?> CreateAsync(string id, string role, string password, CancellationToken cancellationToken = default) =>
        (await _service.CreateAsync(id, role, password, cancellationToken).ConfigureAwait(false))?.Message;

    /// <summary>Sets a new password; earlier tokens become void. The problem in words, or null on success.</summary>
    public async Task<string?> ResetPasswordAsync(string id, string password, CancellationToken cancellationToken = default) =>
        (await _service.ResetPasswordAsync(id, password, cancellationToken).ConfigureAwait(false))?.Message;

    /// <summary>Removes an account (and a kiosk's presence row). The problem in words, or null on success.</summary>
    public async Task<string?> RemoveAsync(string id, CancellationToken cancellationToken = default) =>
        (await _service.RemoveAsync(id, cancellationToken).ConfigureAwait(false))?.Message;

    public async Task<IReadOnlyList<AccountListing>> ListAsync(CancellationToken cancellationToken = default) =>
        [.. (await _accounts.ListAsync(cancellationToken).ConfigureAwait(false)).OrderBy(a => a.RowKey, StringComparer.Ordinal).Select(a => new AccountListing(a.RowKey, a.Role, a.CreatedAt, a.LockedUntil))];
}
