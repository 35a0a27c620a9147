namespace RailCloud.WebPubSub;

public enum WebPubSubPermission
{
    SendToGroup,
    JoinLeaveGroup,
}

/// <summary>The three payload kinds a message can carry.</summary>
public enum WebPubSubContentType
{
    Json,
    Text,
    Binary,
}

public static class WebPubSubContentTypes
{
    public static string ToMediaType(this WebPubSubContentType type) => type switch
    {
        WebPubSubContentType.Json => "application/json",
        WebPubSubContentType.Text => "text/plain",
        _ => "application/octet-stream",
    };

    public static string ToDataType(this WebPubSubContentType type) => type switch
    {
        WebPubSubContentType.Json => "json",
        WebPubSubContentType.Text => "text",
        _ => "binary",
    };

    /// <summary>Maps a media type (parameters such as charset ignored) to a payload kind; null when it is none of the three.</summary>
    public static WebPubSubContentType? FromMediaType(string? mediaType)
    {
        var type = mediaType?.Split(';')[0].Trim();
        return type?.ToLowerInvariant() switch
        {
            "application/json" => WebPubSubContentType.Json,
            "text/plain" => WebPubSubContentType.Text,
            "application/octet-stream" => WebPubSubContentType.Binary,
            _ => null,
        };
    }

    internal static string ToPathSegment(this WebPubSubPermission permission) => permission switch
    {
        WebPubSubPermission.SendToGroup => "sendToGroup",
        _ => "joinLeaveGroup",
    };
}
