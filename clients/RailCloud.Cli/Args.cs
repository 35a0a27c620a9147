namespace RailCloud.Cli;

/// <summary>Positional words and <c>--name value</c> options.</summary>
public sealed class Args
{
    private readonly Dictionary<string, string> _options = new(StringComparer.OrdinalIgnoreCase);

    public Args(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            if (list[i].StartsWith("--", StringComparison.Ordinal))
            {
                var name = list[i][2..];
                var eq = name.IndexOf('=');
                if (eq > 0)
                {
                    _options[name[..eq]] = name[(eq + 1)..];
                }
                else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    _options[name] = list[++i];
                }
                else
                {
                    _options[name] = "true";
                }
            }
            else
            {
                Positional.Add(list[i]);
            }
        }
    }

    public List<string> Positional { get; } = [];

    public string? Get(string name, string? environment = null) =>
        _options.TryGetValue(name, out var value) ? value : environment is null ? null : Environment.GetEnvironmentVariable(environment);

    public string Require(string name, string? environment = null) =>
        Get(name, environment) ?? throw new UsageException($"--{name} is required{(environment is null ? "" : $" (or set {environment})")}.");

    public int Int(string name, int fallback) =>
        Get(name) is { } text ? int.TryParse(text, out var n) && n > 0 ? n : throw new UsageException($"--{name} must be a positive whole number.") : fallback;

    /// <summary>A non-negative number (a rate).</summary>
    public double Double(string name, double fallback) =>
        Get(name) is { } text
            ? double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) && d >= 0 ? d : throw new UsageException($"--{name} must be a number, 0 or more.")
            : fallback;

    /// <summary>A duration: <c>90s</c>, <c>5m</c>, <c>1h</c>, or hh:mm:ss.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        if (Get(name) is not { } text)
        {
            return fallback;
        }
        var unit = text.Length > 1 ? text[^1] : ' ';
        if (unit is 's' or 'm' or 'h' && double.TryParse(text[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var amount) && amount > 0)
        {
            return unit switch { 's' => TimeSpan.FromSeconds(amount), 'm' => TimeSpan.FromMinutes(amount), _ => TimeSpan.FromHours(amount) };
        }
        return TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw new UsageException($"--{name} must be a duration such as 90s, 5m or 00:05:00.");
    }

    public string? At(int index) => index < Positional.Count ? Positional[index] : null;
}

public sealed class UsageException(string message) : Exception(message);
