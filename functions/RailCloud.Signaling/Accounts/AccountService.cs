using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RailCloud.Protocol;
using RailCloud.Signaling.Http;
using RailCloud.Signaling.Kiosks;

namespace RailCloud.Signaling.Accounts;

/// <summary>Why an account change was refused: a stable code (ErrorCodes) and a message for people.</summary>
public sealed record AccountProblem(string Code, string Message)
{
    public override string ToString() => Message;
}

public enum LoginOutcome
{
    Success,
    InvalidCredentials,
    LockedOut,
}

/// <summary>
/// Accounts and logins. Passwords are hashed with ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>;
/// unknown ids and wrong passwords get the same answer (and take the same time); repeated failures lock the
/// account for a while. Logout voids every token issued before it.
/// </summary>
public sealed class AccountService(AccountStore accounts, KioskStore kiosks, TokenService tokens, IOptions<AuthOptions> options, TimeProvider time, ILogger<AccountService> logger)
{
    private static readonly PasswordHasher<string> Hasher = new();
    // Hashing a throwaway password for unknown ids keeps their answer as slow as a real check.
    private static readonly string DummyHash = Hasher.HashPassword("", "railcloud-timing-equaliser");

    public async Task<(LoginOutcome Outcome, LoginResponse? Response)> LoginAsync(string id, string password, CancellationToken cancellationToken = default)
    {
        await accounts.EnsureTablesAsync(cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var account = Ids.IsValid(id) ? await accounts.GetAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (account is null || account.Source == "entra")
        {
            Hasher.VerifyHashedPassword("", DummyHash, password);
            logger.LogInformation("Login refused for unknown id {AccountId}", Ids.Shown(id));
            return (LoginOutcome.InvalidCredentials, null);
        }
        if (account.LockedUntil > now)
        {
            logger.LogWarning("Login refused for {AccountId}: locked until {LockedUntil}", id, account.LockedUntil);
            return (LoginOutcome.LockedOut, null);
        }
        var verdict = Hasher.VerifyHashedPassword(id, account.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            account.FailedAttempts++;
            if (account.FailedAttempts >= options.Value.MaxFailedAttempts)
            {
                account.LockedUntil = now + options.Value.LockoutDuration;
                account.FailedAttempts = 0;
                logger.LogWarning("Account {AccountId} locked for {Duration} after repeated failed logins", id, options.Value.LockoutDuration);
            }
            await accounts.TryUpdateAsync(account, cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Login refused for {AccountId}: wrong password", id);
            return (LoginOutcome.InvalidCredentials, null);
        }
        if (account.FailedAttempts > 0 || account.LockedUntil is not null || verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            account.FailedAttempts = 0;
            account.LockedUntil = null;
            if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
            {
                account.PasswordHash = Hasher.HashPassword(id, password);
            }
            await accounts.TryUpdateAsync(account, cancellationToken).ConfigureAwait(false);
        }
        while (account.TokensValidFrom > time.GetUtcNow())
        {
            // Logged out within this second: wait for it to pass, so the new token is told apart from voided ones.
            await Task.Delay(account.TokensValidFrom - time.GetUtcNow() + TimeSpan.FromMilliseconds(2), time, cancellationToken).ConfigureAwait(false);
        }
        var (token, expiresAt) = tokens.Issue(id, account.Role);
        logger.LogInformation("{AccountId} logged in as {Role}", id, account.Role);
        return (LoginOutcome.Success, new LoginResponse(token, expiresAt, account.Role, id));
    }

    /// <summary>Validates one of our bearer tokens: signed by us, and not voided by a logout since it was issued.</summary>
    public async Task<Caller?> AuthenticateAsync(string? token, CancellationToken cancellationToken = default)
    {
        var caller = await tokens.ValidateAsync(token).ConfigureAwait(false);
        if (caller is null)
        {
            return null;
        }
        var account = await accounts.GetAsync(caller.Id, cancellationToken).ConfigureAwait(false);
        return account is not null && account.Role == caller.Role && caller.IssuedAt >= account.TokensValidFrom ? caller : null;
    }

    /// <summary>
    /// Admits a caller whose Entra token <see cref="EntraTokenValidator"/> accepted: mirrors it into the accounts
    /// table (no password) so Web PubSub's connect event knows it, unless a password account holds that id.
    /// </summary>
    public async Task<Caller?> AdmitEntraAsync(Caller? caller, CancellationToken cancellationToken)
    {
        if (caller is null)
        {
            return null;
        }
        var account = await accounts.GetAsync(caller.Id, cancellationToken).ConfigureAwait(false);
        if (account is { Source: "local" })
        {
            logger.LogWarning("Entra sign-in as {AccountId} refused: a password account has that id", caller.Id);
            return null;
        }
        if (account is null || account.Role != caller.Role)
        {
            var mirror = account ?? new AccountEntity { RowKey = caller.Id, CreatedAt = time.GetUtcNow(), Source = "entra" };
            mirror.Role = caller.Role;
            if (account is null ? !await accounts.AddAsync(mirror, cancellationToken).ConfigureAwait(false) : !await accounts.TryUpdateAsync(mirror, cancellationToken).ConfigureAwait(false))
            {
                return null; // raced with another first sign-in; the caller retries
            }
            if (caller.Role == Roles.Kiosk)
            {
                await kiosks.EnsureAsync(caller.Id, cancellationToken).ConfigureAwait(false);
            }
            logger.LogInformation("Entra ID account {AccountId} ({Role}) mirrored", caller.Id, caller.Role);
        }
        else if (caller.IssuedAt < account.TokensValidFrom)
        {
            return null;
        }
        return caller;
    }

    /// <summary>Voids every token of the account issued until now.</summary>
    public async Task LogoutAsync(string id, CancellationToken cancellationToken = default)
    {
        var (_, written) = await accounts.UpdateAsync(id, account =>
        {
            account.TokensValidFrom = NextWholeSecond();
            return true;
        }, cancellationToken).ConfigureAwait(false);
        if (written)
        {
            logger.LogInformation("{AccountId} logged out; earlier tokens are void", id);
        }
    }

    /// <summary>
    /// The token a device's sign-in earns: a kiosk token carrying the device id, when the kiosk account it was enrolled
    /// for still exists (null when it does not).
    /// </summary>
    public async Task<LoginResponse?> IssueForDeviceAsync(string kioskId, string deviceId, CancellationToken cancellationToken = default)
    {
        if (await accounts.GetAsync(kioskId, cancellationToken).ConfigureAwait(false) is not { Role: Roles.Kiosk })
        {
            return null;
        }
        var (token, expiresAt) = tokens.Issue(kioskId, Roles.Kiosk, deviceId);
        return new LoginResponse(token, expiresAt, Roles.Kiosk, kioskId);
    }

    /// <summary>A password for a new account or a reset: 16 random letters and digits.</summary>
    public static string GeneratePassword() =>
        Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)).Replace('+', 'x').Replace('/', 'y');

    /// <summary>Creates an account (and a kiosk's presence row). Returns the problem, or null on success.</summary>
    public async Task<AccountProblem?> CreateAsync(string id, string role, string password, CancellationToken cancellationToken = default)
    {
        if (!Ids.IsValid(id))
        {
            return new(ErrorCodes.InvalidPayload, $"'{Ids.Shown(id)}' is not a valid id (letters, digits, _ . -; up to 64 characters).");
        }
        if (!Roles.IsKnown(role))
        {
            return new(ErrorCodes.InvalidPayload, $"'{Ids.Shown(role)}' is not a role (kiosk, monitor, supervisor).");
        }
        if (password.Length is < 8 or > 256)
        {
            return new(ErrorCodes.InvalidPayload, "A password needs 8 to 256 characters.");
        }
        var account = new AccountEntity
        {
            RowKey = id,
            Role = role,
            PasswordHash = Hasher.HashPassword(id, password),
            CreatedAt = time.GetUtcNow(),
        };
        if (!await accounts.AddAsync(account, cancellationToken).ConfigureAwait(false))
        {
            return new(ErrorCodes.AccountExists, $"An account '{id}' already exists.");
        }
        if (role == Roles.Kiosk)
        {
            await kiosks.EnsureAsync(id, cancellationToken).ConfigureAwait(false);
        }
        logger.LogInformation("Account {AccountId} created with role {Role}", id, role);
        return null;
    }

    /// <summary>Sets a new password; earlier tokens become void. Returns the problem, or null on success.</summary>
    public async Task<AccountProblem?> ResetPasswordAsync(string id, string password, CancellationToken cancellationToken = default)
    {
        if (password.Length is < 8 or > 256)
        {
            return new(ErrorCodes.InvalidPayload, "A password needs 8 to 256 characters.");
        }
        var (account, _) = await accounts.UpdateAsync(id, a =>
        {
            if (a.Source != "local")
            {
                return false;
            }
            a.PasswordHash = Hasher.HashPassword(id, password);
            a.FailedAttempts = 0;
            a.LockedUntil = null;
            a.TokensValidFrom = NextWholeSecond();
            return true;
        }, cancellationToken).ConfigureAwait(false);
        return account is null || account.Source != "local"
            ? new(ErrorCodes.UnknownAccount, account is null ? $"There is no account '{Ids.Shown(id)}'." : $"'{id}' signs in with Microsoft (Entra ID) and has no password here.")
            : null;
    }

    /// <summary>Removes an account (and a kiosk's presence row): its tokens stop passing at once. Null on success.</summary>
    public async Task<AccountProblem?> RemoveAsync(string id, CancellationToken cancellationToken = default)
    {
        var account = Ids.IsValid(id) ? await accounts.GetAsync(id, cancellationToken).ConfigureAwait(false) : null;
        if (account is null || !await accounts.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return new(ErrorCodes.UnknownAccount, $"There is no account '{Ids.Shown(id)}'.");
        }
        if (account.Role == Roles.Kiosk)
        {
            await kiosks.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        }
        logger.LogInformation("Account {AccountId} ({Role}) removed", id, account.Role);
        return null;
    }

    /// <summary>
    /// Logout voids tokens up to the next whole second: Web PubSub client tokens carry <c>iat</c> in whole seconds,
    /// and a URL issued before the logout must never pass for one issued after it.
    /// </summary>
    private DateTimeOffset NextWholeSecond() => DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds() + 1);
}
