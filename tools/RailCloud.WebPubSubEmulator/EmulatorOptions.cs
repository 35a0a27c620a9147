using System.Text;

namespace RailCloud.WebPubSubEmulator;

/// <summary>
/// Settings under <c>WebPubSub</c>, named as in Microsoft's emulator:
/// <c>WebPubSub:AccessKey</c> and <c>WebPubSub:Hubs:&lt;hub&gt;:EventHandlers:&lt;n&gt;:UrlTemplate|SystemEvents|EventPattern</c>.
/// </summary>
public sealed class EmulatorOptions
{
    /// <summary>The public default key of Microsoft's emulator; fine for a laptop, never for anything reachable.</summary>
    public const string DefaultAccessKey = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGH";

    public string AccessKey { get; init; } = DefaultAccessKey;

    public Dictionary<string, HubOptions> Hubs { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long a reliable connection whose socket dropped can be recovered (the service keeps at least 30 s).</summary>
    public TimeSpan ReliableRecoveryWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Delays between retries of asynchronous upstream events (connected, disconnected).</summary>
    public IReadOnlyList<TimeSpan> UpstreamRetryDelays { get; init; } = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5)];

    public const int MaxFrameBytes = 1024 * 1024;
    public const int MaxUnackedMessages = 1000;
    public const long MaxUnackedBytes = 16L * 1024 * 1024;

    public static EmulatorOptions FromConfiguration(IConfiguration configuration)
    {
        var section = configuration.GetSection("WebPubSub");
        var key = section["AccessKey"];
        if (key is not null)
        {
            ValidateKey(key);
        }
        var hubs = new Dictionary<string, HubOptions>(StringComparer.OrdinalIgnoreCase);
        foreach (var hub in section.GetSection("Hubs").GetChildren())
        {
            if (!Validation.IsHubName(hub.Key))
            {
                throw new InvalidOperationException($"WebPubSub:Hubs:{hub.Key}: '{hub.Key}' is not a valid hub name.");
            }
            var handlers = new List<EventHandlerOptions>();
            foreach (var handler in hub.GetSection("EventHandlers").GetChildren())
            {
                var path = $"WebPubSub:Hubs:{hub.Key}:EventHandlers:{handler.Key}";
                if (handler.GetSection("Auth").Exists())
                {
                    throw new InvalidOperationException($"{path}:Auth is not supported by the emulator; remove it.");
                }
                var template = handler["UrlTemplate"];
                if (string.IsNullOrWhiteSpace(template) || !Uri.TryCreate(template.Replace("{hub}", "h").Replace("{event}", "e"), UriKind.Absolute, out var probe) || probe.Scheme is not ("http" or "https"))
                {
                    throw new InvalidOperationException($"{path}:UrlTemplate must be an absolute http(s) URL; '{template}' is not.");
                }
                if (new Uri(template.Replace("{hub}", "h").Replace("{event}", "e")).Host != new Uri(template.Replace("{hub}", "x").Replace("{event}", "y")).Host)
                {
                    throw new InvalidOperationException($"{path}:UrlTemplate may not use placeholders in its host.");
                }
                var systemEvents = ListOrCommaSeparated(handler.GetSection("SystemEvents"));
                foreach (var e in systemEvents)
                {
                    if (e is not ("connect" or "connected" or "disconnected"))
                    {
                        throw new InvalidOperationException($"{path}:SystemEvents: '{e}' is not one of connect, connected, disconnected.");
                    }
                }
                handlers.Add(new EventHandlerOptions(template, handler["EventPattern"] ?? handler["UserEventPattern"], systemEvents));
            }
            hubs[hub.Key] = new HubOptions(handlers);
        }
        var window = section["ReliableRecoveryWindow"];
        var delays = section["UpstreamRetryDelays"];
        return new EmulatorOptions
        {
            AccessKey = key ?? DefaultAccessKey,
            Hubs = hubs,
            ReliableRecoveryWindow = window is null ? TimeSpan.FromSeconds(30) : TimeSpan.Parse(window, System.Globalization.CultureInfo.InvariantCulture),
            UpstreamRetryDelays = delays is null
                ? [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5)]
                : [.. delays.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(d => TimeSpan.Parse(d, System.Globalization.CultureInfo.InvariantCulture))],
        };
    }

    private static void ValidateKey(string key)
    {
        if (Encoding.UTF8.GetByteCount(key) < 32 || key.Contains(';') || key.Any(char.IsControl) || key.Trim() != key)
        {
            throw new InvalidOperationException("WebPubSub:AccessKey must be at least 32 UTF-8 bytes, with no semicolons, control characters or surrounding whitespace.");
        }
    }

    private static List<string> ListOrCommaSeparated(IConfigurationSection section)
    {
        if (section.Value is { } single)
        {
            return [.. single.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
        }
        return [.. section.GetChildren().Select(c => c.Value).Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v!.Trim())];
    }
}

public sealed record HubOptions(IReadOnlyList<EventHandlerOptions> EventHandlers);

public sealed record EventHandlerOptions(string UrlTemplate, string? EventPattern, IReadOnlyList<string> SystemEvents)
{
    public bool HandlesSystemEvent(string name) => SystemEvents.Contains(name, StringComparer.OrdinalIgnoreCase);

    /// <summary><c>*</c>, a comma-separated list, or one name.</summary>
    public bool HandlesUserEvent(string name)
    {
        if (string.IsNullOrWhiteSpace(EventPattern))
        {
            return false;
        }
        var pattern = EventPattern.Trim();
        return pattern == "*" || pattern.Split(',', StringSplitOptions.TrimEntries).Contains(name, StringComparer.Ordinal);
    }

    public Uri UrlFor(string hub, string eventName) =>
        new(UrlTemplate.Replace("{hub}", Uri.EscapeDataString(hub), StringComparison.OrdinalIgnoreCase)
            .Replace("{event}", Uri.EscapeDataString(eventName), StringComparison.OrdinalIgnoreCase));
}
