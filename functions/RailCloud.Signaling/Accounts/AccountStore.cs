using System.ComponentModel.DataAnnotations;
using Azure;
using Azure.Data.Tables;
using RailCloud.Signaling.Storage;

namespace RailCloud.Signaling.Accounts;

/// <summary>A login account. PartitionKey "account", RowKey = id.</summary>
public sealed class AccountEntity : ITableEntity
{
    public const string Partition = "account";
    public string PartitionKey { get; set; } = Partition;
    public string RowKey { get; set; } = "";
    public DateTimeOffset? Timestamp { get; set; }
    public ETag ETag { get; set; }

    public string Role { get; set; } = "";
    public string PasswordHash { get; set; } = "";
    public int FailedAttempts { get; set; }
    public DateTimeOffset? LockedUntil { get; set; }
    /// <summary>Tokens issued before this instant are void (set by logout and password reset).</summary>
    public DateTimeOffset TokensValidFrom { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>"local" (password) or "entra" (mirrored from an Entra ID sign-in; no password login).</summary>
    public string Source { get; set; } = "local";
}

/// <summary>Accounts: who may log in, with which role.</summary>
public sealed class AccountStore(Tables tables)
{
    /// <summary>Creates RailCloud's tables on a fresh deployment's first request (a flag check afterwards).</summary>
    public ValueTask EnsureTablesAsync(CancellationToken cancellationToken = default) => tables.EnsureCreatedAsync(cancellationToken);

    public Task<AccountEntity?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        tables.Accounts.FindAsync<AccountEntity>(AccountEntity.Partition, id, cancellationToken);

    /// <summary>Adds an account; false if the id is taken.</summary>
    public Task<bool> AddAsync(AccountEntity account, CancellationToken cancellationToken = default) =>
        tables.Accounts.TryAddAsync(account, cancellationToken);

    /// <summary>Writes the account back if nobody changed it since it was read; false on a conflict.</summary>
    public Task<bool> TryUpdateAsync(AccountEntity account, CancellationToken cancellationToken = default) =>
        tables.Accounts.TryReplaceAsync(account, cancellationToken);

    /// <summary>Read, change, write with If-Match, again on a conflict; the account as last read (null when there is none) and whether it was written.</summary>
    public Task<(AccountEntity? Row, bool Written)> UpdateAsync(string id, Func<AccountEntity, bool> change, CancellationToken cancellationToken = default) =>
        Optimistic.UpdateAsync(() => GetAsync(id, cancellationToken), change, a => TryUpdateAsync(a, cancellationToken), $"Account {id}");

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var response = await tables.Accounts.DeleteEntityAsync(AccountEntity.Partition, id, ETag.All, cancellationToken).ConfigureAwait(false);
        return response.Status != 404;
    }

    public async Task<IReadOnlyList<AccountEntity>> ListAsync(CancellationToken cancellationToken = default) =>
        await tables.Accounts.QueryAsync<AccountEntity>(a => a.PartitionKey == AccountEntity.Partition, cancellationToken: cancellationToken).ToListAsync().ConfigureAwait(false);
}

/// <summary><c>Auth</c>: the tokens <c>/api/login</c> issues, and the guessing protection.</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    /// <summary>HMAC-SHA256 wants a key of at least 256 bits.</summary>
    public const int MinSigningKeyBytes = 32;

    /// <summary>HMAC key for HS256; at least 32 bytes. Local runs use a dev key; Azure takes it from Key Vault.</summary>
    public string SigningKey { get; set; } = "";

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(60);

    public string Issuer { get; set; } = "railcloud";

    public string Audience { get; set; } = "railcloud-api";

    /// <summary>Failed logins for one account before it is locked for <see cref="LockoutDuration"/>.</summary>
    [Range(1, 100)]
    public int MaxFailedAttempts { get; set; } = 5;

    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Login attempts one client address may make per minute.</summary>
    [Range(1, 10_000)]
    public int LoginsPerMinutePerAddress { get; set; } = 30;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(SigningKey ?? "");
        if (bytes < MinSigningKeyBytes && !SecretSettings.IsKeyVaultReference(SigningKey))
        {
            // An environment deployed before azd generated 64-character keys may hold a 15-character one.
            yield return new ValidationResult(
                $"Auth:SigningKey is {(bytes == 0 ? "not set" : $"only {bytes} bytes")}; it needs at least {MinSigningKeyBytes}. "
                + "In Azure it is the Key Vault secret token-signing-key: set a new one with "
                + "`az keyvault secret set --vault-name <vault> --name token-signing-key --value \"$(openssl rand -base64 48)\"` "
                + "and `azd env config set infra.parameters.tokenSigningKey` to the same value, then restart the app (README, Deploy).",
                [nameof(SigningKey)]);
        }
    }
}

/// <summary>
/// How many guessable sign-in attempts one client address may make a minute: password logins and device enrolments
/// (a code) share it, so guessing through either is as slow as through /api/login.
/// </summary>
public sealed class SignInLimiter(Microsoft.Extensions.Options.IOptions<AuthOptions> options) : Http.AddressLimiter(options.Value.LoginsPerMinutePerAddress);
