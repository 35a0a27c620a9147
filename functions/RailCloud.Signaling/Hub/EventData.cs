using System.Text.Json;
using System.Text.Json.Serialization;
using RailCloud.Protocol;

namespace RailCloud.Signaling.Hub;

/// <summary>
/// The data of a user event: first checked once for what no record could say (a JSON object, nested at most 16 deep,
/// no key given twice, no lone UTF-16 surrogate, which no .NET string can hold), then read as the contract's record
/// of its event (RailCloud.Protocol), strictly: names as the contract spells them, numbers as numbers.
/// </summary>
public static class EventData
{
    public const int MaxDepth = 16;

    private static readonly JsonSerializerOptions Strict = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            PropertyNameCaseInsensitive = false,
            NumberHandling = JsonNumberHandling.Strict,
            MaxDepth = MaxDepth,
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    /// <summary>True when <paramref name="utf8"/> is one JSON object of valid Unicode text, nested at most 16 deep, with no key given twice.</summary>
    public static bool IsWellFormedObject(ReadOnlySpan<byte> utf8)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            var keys = new Stack<HashSet<string>?>();   // one set per open object (null for an array)
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }
            keys.Push([]);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        keys.Push([]);
                        break;
                    case JsonTokenType.StartArray:
                        keys.Push(null);
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        keys.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        if (!keys.Peek()!.Add(reader.GetString()!))   // GetString throws on a lone surrogate
                        {
                            return false;   // a key given twice: which one would count?
                        }
                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        _ = reader.GetString();
                        break;
                }
            }
            return keys.Count == 0;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The data as <typeparamref name="T"/>; null when it does not have that shape.</summary>
    public static T? Read<T>(BinaryData data) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize<T>(data.ToMemory().Span, Strict);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Whether <paramref name="id"/> is an id of the contract (accounts, kiosks, crew, sessions).</summary>
    public static bool IsId(string? id) => Ids.IsValid(id);
}
