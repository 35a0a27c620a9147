using System.Text.RegularExpressions;

namespace RailCloud.WebPubSubEmulator;

internal static partial class Validation
{
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}$")]
    private static partial Regex HubPattern();

    public static bool IsHubName(string? hub) => hub is not null && HubPattern().IsMatch(hub);

    public static bool IsGroupName(string? group) => group is { Length: >= 1 and <= 1024 } && !string.IsNullOrWhiteSpace(group);

    public static readonly string[] ApiVersions = ["2021-10-01", "2022-11-01", "2023-07-01", "2024-01-01", "2024-12-01"];
}
