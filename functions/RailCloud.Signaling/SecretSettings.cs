using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace RailCloud.Signaling;

/// <summary>
/// App Service hands an app setting whose Key Vault reference it could not resolve (no role yet, a wrong secret
/// URI) to the app as the literal <c>@Microsoft.KeyVault(…)</c> text. That text is long enough to pass as a signing key
/// and anyone can read it in the template, so any setting that still holds one stops the app at start.
/// </summary>
public sealed class SecretSettings
{
    private const string Prefix = "@Microsoft.KeyVault(";

    public static bool IsKeyVaultReference(string? value) =>
        value is not null && value.TrimStart().StartsWith(Prefix, StringComparison.OrdinalIgnoreCase);

    internal sealed class Check(IConfiguration configuration) : IValidateOptions<SecretSettings>
    {
        public ValidateOptionsResult Validate(string? name, SecretSettings options)
        {
            var unresolved = configuration.AsEnumerable()
                .Where(setting => IsKeyVaultReference(setting.Value))
                .Select(setting => setting.Key)
                .Order(StringComparer.OrdinalIgnoreCase)
                .ToList();
            return unresolved.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail(unresolved.Select(key =>
                    $"{key} is an unresolved Key Vault reference: the platform could not read the secret, so the setting holds the reference text itself. "
                    + "Check that the app's identity has Key Vault Secrets User on the vault and that the secret exists "
                    + "(Azure portal: the app's Environment variables show each reference's status), then restart the app."));
        }
    }
}
