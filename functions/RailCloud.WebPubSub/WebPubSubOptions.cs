using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;

namespace RailCloud.WebPubSub;

/// <summary>The <c>WebPubSub</c> configuration section.</summary>
public sealed partial class WebPubSubOptions : IValidatableObject
{
    public const string SectionName = "WebPubSub";

    /// <summary>Key-based access (local emulator). Leave empty in Azure and set <see cref="Endpoint"/>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>A second connection string whose key is also accepted on incoming events (key rotation).</summary>
    public string? SecondaryConnectionString { get; set; }

    /// <summary>Service endpoint for managed-identity access (no key).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>
    /// Where clients open their WebSocket when that is not the service endpoint (a custom domain or a gateway in front
    /// of the service); the client URL from negotiate names this host. Unset: the service endpoint.
    /// </summary>
    public Uri? ClientEndpoint { get; set; }

    /// <summary>The hub every call goes to.</summary>
    [Required]
    public string Hub { get; set; } = "";

    /// <summary>
    /// Keyless service: the client id of the managed identity Web PubSub calls the event handler with. Its Entra
    /// token (audience: this API, see AzureAd) is required on every event instead of a key signature.
    /// </summary>
    public string? EventHandlerClientId { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!HubPattern().IsMatch(Hub ?? ""))
        {
            yield return new ValidationResult($"WebPubSub:Hub '{Hub}' is not a valid hub name (a letter, then up to 127 letters, digits or _`,.[]).", [nameof(Hub)]);
        }
        if (string.IsNullOrWhiteSpace(ConnectionString) && Endpoint is null)
        {
            yield return new ValidationResult("Set WebPubSub:ConnectionString (local emulator) or WebPubSub:Endpoint (managed identity).", [nameof(ConnectionString), nameof(Endpoint)]);
        }
        if (ClientEndpoint is { } client && (!client.IsAbsoluteUri || client.Scheme is not ("http" or "https")))
        {
            yield return new ValidationResult($"WebPubSub:ClientEndpoint '{client}' is not an absolute http or https URL.", [nameof(ClientEndpoint)]);
        }
        foreach (var (name, value) in new[] { (nameof(ConnectionString), ConnectionString), (nameof(SecondaryConnectionString), SecondaryConnectionString) })
        {
            if (!string.IsNullOrWhiteSpace(value) && !WebPubSubConnectionString.TryParse(value, out _, out var error))
            {
                yield return new ValidationResult($"WebPubSub:{name}: {error}", [name]);
            }
        }
    }

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}$")]
    public static partial Regex HubPattern();
}
