using System.Text.RegularExpressions;

namespace RailCloud.WebPubSubEmulator;

internal static partial class Validation
{
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}$")]
    private static partial Regex HubPattern();

    public static bool IsHubName(string? hub) => hub is not null && HubPattern().IsMatch(hub);

    public static bool IsGroupName(string? group) => group is { Length: >= 1 and <= 1024 } && !string.IsNullOrWhiteSpace(group);

    // The documentation names no rule for user event names, but the service puts the name into the handler's URL
    // ({event}) and into the ce-eventName header: a name that is not a plain URL path segment and header value would
    // go to another URL (".", "..", "a/b"), fail the request (non-ASCII, control characters) or, with CR/LF, read as
    // another event. Such a frame is declined like any frame that does not follow the subprotocol.
    [GeneratedRegex(@"^[A-Za-z0-9_~:-][A-Za-z0-9._~:-]{0,127}$")]
    private static partial Regex EventNamePattern();

    public static bool IsEventName(string? name) => name is not null && EventNamePattern().IsMatch(name) && name.Trim('.').Length > 0;

    public static readonly string[] ApiVersions = ["2021-10-01", "2022-11-01", "2023-07-01", "2024-01-01", "2024-12-01"];
}
