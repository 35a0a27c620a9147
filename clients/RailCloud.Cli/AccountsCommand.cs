using Azure.Data.Tables;
using Azure.Identity;
using RailCloud.Signaling.Accounts;

namespace RailCloud.Cli;

/// <summary>
/// <c>railcloud accounts</c>: manage logins directly in Table Storage, through the accounts feature's own surface for
/// tools (<see cref="AccountAdministration"/>: the same rules the API uses, nothing else of the core).
/// </summary>
public static class AccountsCommand
{
    public const string LocalAzurite =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;";

    public static async Task<int> RunAsync(Args args, CancellationToken cancellationToken)
    {
        var accounts = await OpenAsync(args, cancellationToken);
        switch (args.At(1))
        {
            case "add":
                {
                    var id = args.At(2) ?? throw new UsageException("accounts add needs an id.");
                    var role = args.Require("role");
                    var (password, generated) = PasswordOrGenerated(args);
                    if (await accounts.CreateAsync(id, role, password, cancellationToken) is { } error)
                    {
                        Console.Error.WriteLine("railcloud: " + error);
                        return 1;
                    }
                    Console.WriteLine($"Created {id} ({role}).{(generated ? $" Password: {password}" : "")}");
                    return 0;
                }
            case "list":
                {
                    var list = await accounts.ListAsync(cancellationToken);
                    Console.WriteLine($"{"ID",-24} {"ROLE",-11} {"CREATED",-20} STATUS");
                    foreach (var a in list)
                    {
                        var status = a.LockedUntil > DateTimeOffset.UtcNow ? $"locked until {a.LockedUntil:HH:mm:ss}" : "active";
                        Console.WriteLine($"{a.Id,-24} {a.Role,-11} {a.CreatedAt:yyyy-MM-dd HH:mm}     {status}");
                    }
                    Console.WriteLine($"{list.Count} account(s)");
                    return 0;
                }
            case "remove":
                {
                    var id = args.At(2) ?? throw new UsageException("accounts remove needs an id.");
                    if (await accounts.RemoveAsync(id, cancellationToken) is { } error)
                    {
                        Console.Error.WriteLine("railcloud: " + error);
                        return 1;
                    }
                    Console.WriteLine($"Removed {id}. Its open connections end at their next check; its tokens no longer pass.");
                    return 0;
                }
            case "reset-password":
                {
                    var id = args.At(2) ?? throw new UsageException("accounts reset-password needs an id.");
                    var (password, generated) = PasswordOrGenerated(args);
                    if (await accounts.ResetPasswordAsync(id, password, cancellationToken) is { } error)
                    {
                        Console.Error.WriteLine("railcloud: " + error);
                        return 1;
                    }
                    Console.WriteLine($"Password of {id} reset; earlier tokens are void.{(generated ? $" New password: {password}" : "")}");
                    return 0;
                }
            default:
                throw new UsageException("accounts takes add, list, remove or reset-password.");
        }
    }

    public static async Task<AccountAdministration> OpenAsync(Args args, CancellationToken cancellationToken)
    {
        var storage = args.Get("storage", "RAILCLOUD_STORAGE") ?? LocalAzurite;
        var keyless = Uri.TryCreate(storage, UriKind.Absolute, out var endpoint) && endpoint.Scheme == Uri.UriSchemeHttps;
        // A deployed account has shared keys off: its table endpoint is reached as the person signed in with the
        // Azure CLI or azd (who needs Storage Table Data Contributor; azd up grants it to the deploying user).
        var client = keyless
            ? new TableServiceClient(endpoint, new ChainedTokenCredential(new AzureCliCredential(), new AzureDeveloperCliCredential()))
            : new TableServiceClient(storage);
        try
        {
            return await AccountAdministration.OpenAsync(client, args.Get("table-prefix") ?? "railcloud", cancellationToken);
        }
        catch (AuthenticationFailedException ex)
        {
            throw new UsageException($"cannot sign in to {endpoint} ({ex.Message.Split('\n')[0]}); run 'az login' or 'azd auth login' first.");
        }
        catch (Azure.RequestFailedException ex) when (keyless && ex.Status == 403)
        {
            var code = string.IsNullOrEmpty(ex.ErrorCode) ? "" : $" ({ex.ErrorCode})";
            throw new CliFailure(ExitCodes.Refused, $"{endpoint} refused your identity{code}; it needs the Storage Table Data Contributor role on the storage account.");
        }
        catch (Exception ex) when (ex is Azure.RequestFailedException or AggregateException or HttpRequestException)
        {
            throw CliFailure.Unreachable("Table Storage", ex, "is ./run.sh running, or is --storage (RAILCLOUD_STORAGE) right?");
        }
    }

    private static (string Password, bool Generated) PasswordOrGenerated(Args args)
    {
        if (args.Get("password", "RAILCLOUD_PASSWORD") is { } given)
        {
            return (given, false);
        }
        return (AccountAdministration.GeneratePassword(), true);
    }
}
