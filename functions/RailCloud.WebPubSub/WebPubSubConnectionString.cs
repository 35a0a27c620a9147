namespace RailCloud.WebPubSub;

/// <summary>
/// A Web PubSub connection string: <c>Endpoint=https://x.webpubsub.azure.com;AccessKey=...;Version=1.0;[Port=...]</c>.
/// </summary>
public sealed record WebPubSubConnectionString(Uri Endpoint, string AccessKey)
{
    public static WebPubSubConnectionString Parse(string connectionString)
    {
        if (!TryParse(connectionString, out var parsed, out var error))
        {
            throw new FormatException(error);
        }
        return parsed;
    }

    public static bool TryParse(
        string? connectionString,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WebPubSubConnectionString? parsed,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error = "The Web PubSub connection string is empty.";
            return false;
        }

        var parts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var segment in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = segment.IndexOf('=');
            if (eq <= 0)
            {
                error = $"The Web PubSub connection string has a part without a key=value form: '{Redact(segment)}'.";
                return false;
            }
            parts[segment[..eq].Trim()] = segment[(eq + 1)..].Trim();
        }

        if (!parts.TryGetValue("Endpoint", out var endpointText) || endpointText.Length == 0)
        {
            error = "The Web PubSub connection string has no Endpoint.";
            return false;
        }
        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
        {
            error = $"The Web PubSub Endpoint '{endpointText}' is not an absolute http or https URL.";
            return false;
        }
        if (!parts.TryGetValue("AccessKey", out var key) || key.Length == 0)
        {
            error = "The Web PubSub connection string has no AccessKey (for managed identity, set WebPubSub:Endpoint instead).";
            return false;
        }
        if (parts.TryGetValue("Version", out var version) && version != "1.0")
        {
            error = $"The Web PubSub connection string Version '{version}' is not supported; expected 1.0.";
            return false;
        }

        var builder = new UriBuilder(endpoint) { Path = "/", Query = "", Fragment = "" };
        if (parts.TryGetValue("Port", out var portText))
        {
            if (!int.TryParse(portText, System.Globalization.CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
            {
                error = $"The Web PubSub connection string Port '{portText}' is not a port number.";
                return false;
            }
            builder.Port = port;
        }

        parsed = new WebPubSubConnectionString(builder.Uri, key);
        error = null;
        return true;
    }

    /// <summary>Keeps a key out of error messages and logs.</summary>
    private static string Redact(string segment) =>
        segment.StartsWith("AccessKey", StringComparison.OrdinalIgnoreCase) ? "AccessKey=***" : segment;

    public override string ToString() => $"Endpoint={Endpoint.GetLeftPart(UriPartial.Authority)};AccessKey=***;Version=1.0;";
}
